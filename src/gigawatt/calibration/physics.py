"""`gigawatt validate physics` rows of the GPU calibration: every published serving throughput of
catalog/published_inference.yaml (fitted or held out), the H200/H100 speed ratio of MLPerf v4.0, and the
roofline's median error on vidur's measured GEMM timings when that data is beside the repository."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gigawatt.calibration.published import load_rows, predict, serving_batch
from gigawatt.catalog import _load, gpu
from gigawatt.validation.check import Check

PROFILING = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "profiling"
RATIO_PAIR = ("mlperf-v4.0-llama2-70b-offline-h200", "mlperf-v4.0-llama2-70b-offline-h100")
RATIO_TOLERANCE = 0.1
# A roofline fit whose median error on operator timings exceeds this no longer describes the GPU.
VIDUR_MDAPE_BOUND = (0.0, 10.0)


def throughput_checks() -> list[Check]:
    checks, predicted = [], {}
    for row in load_rows():
        predicted[row.id] = value = predict(row)
        batch = serving_batch(row, gpu(row.gpu))
        what = f"{row.model}" + (f" for {row.proxy}" if row.proxy else "")
        note = (f"{what}, TP{row.tp} {row.precision}, {row.isl}/{row.osl} tokens, batch {batch}"
                f"{' (published)' if row.batch else ' (KV-limited)'}; {row.engine}")
        note += f"; {row.note}" if row.note else ""
        checks.append(Check(
            group="serving throughput (published)", name=f"{row.gpu} {row.id}", predicted=value,
            published=row.published, unit="tok/s/GPU", role="held out" if row.held_out else "fitted",
            tolerance=row.tolerance, note=note, source=row.source,
        ))  # fmt: skip
    fast, slow = (next(r for r in load_rows() if r.id == i) for i in RATIO_PAIR)
    checks.append(Check(
        group="serving throughput (published)", name="H200/H100 speed ratio, MLPerf v4.0 Llama-2-70B Offline",
        predicted=predicted[fast.id] / predicted[slow.id], published=fast.published / slow.published,
        unit="ratio", role="held out", tolerance=RATIO_TOLERANCE,
        note="per-GPU tokens/s; both rows held out of every fit", source=f"{fast.source} | {slow.source}",
    ))  # fmt: skip
    return checks


def vidur_checks(root: Path = PROFILING) -> list[Check]:
    """In-sample median error of the roofline on vidur's GEMM timings; none when the data is absent."""
    if not (root / "compute").is_dir():
        return []
    from gigawatt.calibration.predict import predict_compute, resolve_gpu
    from gigawatt.calibration.vidur import find_files, read_compute

    compute = read_compute(find_files(root)[0])
    pred = predict_compute(compute)
    fits = _load("calibration.yaml").get("roofline", {})
    checks = []
    for folder in np.unique(compute.gpu):
        mask = compute.gpu == folder
        mdape = float(np.median(np.abs(pred[mask] / compute.measured[mask] - 1.0)) * 100.0)
        name = resolve_gpu(str(folder)).name
        held = fits.get(name, {}).get("mdape_held_out")
        checks.append(Check(
            group="roofline (vidur GEMM timings)", name=f"{name} GEMM MdAPE", predicted=mdape,
            published=VIDUR_MDAPE_BOUND, unit="% MdAPE", role="fitted",
            note=f"{int(mask.sum())} rows; leave-one-model-out MdAPE {held}% (calibration.yaml)",
            source=f"vidur data/profiling/compute/{folder} (github microsoft/vidur)",
        ))  # fmt: skip
    return checks


def checks() -> list[Check]:
    return throughput_checks() + vidur_checks()
