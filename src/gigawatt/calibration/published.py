"""Published end-to-end serving throughputs (catalog/published_inference.yaml), predicted by the twin's
own serving iteration model, and the roofline fit of GPUs that have no operator timings.

A row is an offline, maximum-throughput run: a replica of `tp` GPUs keeps `batch` sequences in flight
(the submitter's batch, or the engine's cap limited by the KV cache that fits beside the weights). In
steady state each continuous-batching iteration decodes one token for every sequence and prefills the
prompts of the batch/osl sequences that replace the finished ones; `IterationModel` times that mixed
iteration from the architecture (weights, KV bytes read by attention, all-reduces over the GPU's links).

Fit (scripts/fit_published.py): per GPU, only the efficiencies its hardware does not share with a GPU
already calibrated on operator timings. H200 has the H100's GH100 die and clocks, so it keeps the H100's
compute efficiency, overlap and launch cost and fits only its HBM3e memory efficiency; MI300X fits
compute and memory. Rows marked `held_out` never enter a fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT
from gigawatt.arch.spec import load_model
from gigawatt.calibration.calibrate import efficiency_lines, fmt_number
from gigawatt.calibration.fit import nelder_mead
from gigawatt.catalog import CatalogError, GpuSpec, _load, gpu
from gigawatt.hardware.roofline import Efficiency, efficiency
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.memory import hbm_kv_blocks

CATALOG = "published_inference.yaml"
SCRIPT = "scripts/fit_published.py"
# Tokens an engine batches per iteration, reserved for activations beside the KV cache (trtllm-bench's
# and vLLM's default max_num_tokens 8192).
MAX_BATCHED_TOKENS = 8192

# What each GPU fits, and which calibrated GPU lends it the rest.
FIT_PLAN: dict[str, tuple[tuple[str, ...], str, str]] = {
    "H200-SXM": (
        ("memory",),
        "H100-SXM",
        "compute, overlap_p, launch_s of H100-SXM (same GH100 die and clocks)",
    ),
    "MI300X": (
        ("compute", "memory"),
        "H100-SXM",
        "overlap_p, launch_s of H100-SXM (assumption: no MI300X operator timings)",
    ),
}


@dataclass(frozen=True)
class Row:
    id: str
    benchmark: str
    engine: str
    model: str
    gpu: str
    tp: int
    precision: str
    isl: int
    osl: int
    batch: int | None  # sequences per replica, when published
    max_batch: int | None  # the engine's cap when the batch is not published
    held_out: bool
    tolerance: float | None
    published: float  # output tokens/s per GPU
    source: str
    proxy: str | None = None  # the model the benchmark really ran, when `model` stands in for it
    note: str = ""


_REQUIRED = ("id", "benchmark", "engine", "model", "gpu", "tp", "precision", "isl", "osl", "held_out",
             "tokens_per_s_per_gpu")


def parse_row(entry: dict[str, Any]) -> Row:
    """One catalog row, checked: a bad row is refused with its id and the field at fault."""
    rid = entry.get("id", "<no id>")

    def bad(field: str, why: str) -> CatalogError:
        return CatalogError(f"{CATALOG} row {rid!r}: {field} {why}")

    for field in _REQUIRED:
        if field not in entry:
            raise bad(field, "is missing")
    for field in ("tp", "isl", "osl", "batch", "max_batch"):
        value = entry.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise bad(field, f"must be a positive integer, got {value!r}")
    if (entry.get("batch") is None) == (entry.get("max_batch") is None):
        raise bad("batch", "or max_batch must be given, not both (the published batch, or the engine's cap)")
    if entry["precision"] not in BYTES_PER_ELEMENT:
        raise bad("precision", f"must be one of {', '.join(BYTES_PER_ELEMENT)}, got {entry['precision']!r}")
    if not isinstance(entry["held_out"], bool):
        raise bad("held_out", f"must be true or false, got {entry['held_out']!r}")
    tolerance = entry.get("tolerance")
    if entry["held_out"] and not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise bad("tolerance", f"of a held-out row must be a fraction in (0, 1), got {tolerance!r}")
    value = entry["tokens_per_s_per_gpu"]
    if not isinstance(value, dict) or not value.get("source"):
        raise bad("tokens_per_s_per_gpu", "must be {value: <tokens/s per GPU>, source: <where published>}")
    if not isinstance(value.get("value"), (int, float)) or value["value"] <= 0:
        raise bad("tokens_per_s_per_gpu", f"value must be a positive number, got {value.get('value')!r}")
    try:
        spec = gpu(entry["gpu"])
        load_model(entry["model"])
    except (CatalogError, KeyError) as err:
        raise bad("gpu/model", f"is not in the catalog ({err})") from err
    return Row(
        id=str(rid), benchmark=str(entry["benchmark"]), engine=str(entry["engine"]), model=entry["model"],
        gpu=spec.name, tp=entry["tp"], precision=entry["precision"], isl=entry["isl"], osl=entry["osl"],
        batch=entry.get("batch"), max_batch=entry.get("max_batch"), held_out=entry["held_out"],
        tolerance=None if tolerance is None else float(tolerance), published=float(value["value"]),
        source=str(value["source"]), proxy=entry.get("proxy"), note=str(entry.get("note", "")),
    )  # fmt: skip


@cache
def load_rows() -> tuple[Row, ...]:
    rows = tuple(parse_row(e) for e in _load(CATALOG)["rows"])
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{CATALOG}: duplicate row ids")
    return rows


def serving_batch(row: Row, spec: GpuSpec) -> int:
    """Sequences in flight per replica: the published batch, or the cap limited by KV capacity (each
    sequence reserves its whole isl + osl, as TensorRT-LLM's and vLLM's schedulers do)."""
    if row.batch is not None:
        return row.batch
    assert row.max_batch is not None
    m = load_model(row.model)
    kv_tokens = hbm_kv_blocks(m, spec, row.precision, row.tp, 1, 1, MAX_BATCHED_TOKENS)
    fits = kv_tokens // (row.isl + row.osl)
    if fits < 1:
        raise CatalogError(f"{CATALOG} row {row.id!r}: one {row.isl + row.osl}-token sequence does not fit "
                           f"beside the weights on {row.tp} x {spec.name}")
    return min(row.max_batch, fits)


def predict(row: Row, eff: Efficiency | None = None) -> float:
    """Output tokens/s per GPU of the row's set-up at the boost clock, by the serving iteration model."""
    spec = gpu(row.gpu)
    m = load_model(row.model)
    b = serving_batch(row, spec)
    model = IterationModel(m, spec, row.tp, 1, row.precision, np.array([spec.clock_boost]), 8, eff)
    new = b / row.osl  # prompts admitted per iteration in steady state
    time = model.iteration_time(
        0,
        prefill_tokens=new * row.isl,
        prefill_seqs=new,
        prefill_pairs=new * row.isl * (row.isl + 1) / 2.0,
        prefill_context=new * row.isl,
        decode_seqs=b,
        decode_context=b * (row.isl + row.osl / 2.0),
    )[0]
    return b / time / row.tp


@dataclass(frozen=True)
class PublishedFit:
    gpu: str
    efficiency: Efficiency
    fitted: tuple[str, ...]  # parameters fitted
    rows: tuple[str, ...]  # ids of the rows fitted
    mape_fitted: float  # %, mean absolute error over the fitted rows
    held_out: tuple[str, ...]  # ids of this GPU's held-out rows


def fit_rows(rows: tuple[Row, ...] | list[Row], gpu_name: str) -> list[Row]:
    """The rows a GPU's fit may use: its own, never a held-out one."""
    return [r for r in rows if r.gpu == gpu_name and not r.held_out]


def fit_gpu(gpu_name: str, rows: tuple[Row, ...] | list[Row]) -> PublishedFit:
    """Fit the parameters FIT_PLAN names by least mean absolute log error over the GPU's fit rows."""
    params, lender, borrowed = FIT_PLAN[gpu_name]
    used = fit_rows(rows, gpu_name)
    if not used:
        raise CatalogError(f"{CATALOG}: no fit rows for {gpu_name}")
    base = efficiency(lender)
    published = np.array([r.published for r in used])

    def make(z: np.ndarray, source: str = "fit") -> Efficiency:
        values = {p: float(np.exp(v)) for p, v in zip(params, z, strict=True)}
        return replace(base, source=source, **values)

    def loss(z: np.ndarray) -> float:
        pred = np.array([predict(r, make(z)) for r in used])
        return float(np.mean(np.abs(np.log(pred / published))))

    z = np.log([getattr(base, p) for p in params])
    for _ in range(2):  # a restart escapes a collapsed simplex
        z = nelder_mead(loss, z, step=0.2, max_iter=400, tol=1e-8)
    pred = np.array([predict(r, make(z)) for r in used])
    mape = float(np.mean(np.abs(pred / published - 1.0)) * 100.0)
    held = tuple(r.id for r in rows if r.gpu == gpu_name and r.held_out)
    source = (
        f"fitted: {', '.join(params)} by least absolute log error to {len(used)} published serving "
        f"throughputs of catalog/{CATALOG} ({', '.join(r.id for r in used)}); {borrowed}; "
        f"held out: {', '.join(held) or 'none'}; by {SCRIPT}"
    )
    return PublishedFit(gpu_name, make(z, source), params, tuple(r.id for r in used), mape, held)


def fit_all(rows: tuple[Row, ...] | list[Row] | None = None) -> list[PublishedFit]:
    rows = load_rows() if rows is None else rows
    return [fit_gpu(name, rows) for name in FIT_PLAN]


# Blackwell: no FP8 end-to-end serving figure was found (the published B200 tables run FP4, which the
# twin does not model), so B200 takes its efficiencies from Azure's GB200 microbenchmarks (same Blackwell
# die and HBM3e at 8 TB/s; GB200 runs at 1200 W, B200 at 1000 W): an FP8 GEMM at 2,744 of the 5,000 TFLOP/s
# dense FP8 peak, and 7.35 of 8 TB/s HBM bandwidth. `compute` is the bf16 efficiency, so the FP8 share is
# divided by the default FP8/bf16 GEMM ratio the roofline multiplies back in.
B200_SOURCE = (
    "Azure HPC blog 'Azure's ND GB200 v6 delivers record performance for inference workloads' "
    "(techcommunity.microsoft.com, 2025): GB200 sustained 2,744 TFLOPS FP8 GEMM and 7.35 TB/s HBM "
    "(92 %); GB200 dense FP8 peak 5 PFLOPS (GB200 NVL72 datasheet: 720 PFLOPS FP8 with sparsity / 72 / 2)"
)
B200_FP8_GEMM_SHARE = 2744.0 / 5000.0
B200_MEMORY = 7.35 / 8.0


def blackwell_efficiency(fp8_ratio: float) -> Efficiency:
    base = efficiency("H100-SXM")
    return replace(
        base,
        compute=B200_FP8_GEMM_SHARE / fp8_ratio,
        memory=B200_MEMORY,
        source=(
            f"fitted: compute = FP8 GEMM share {B200_FP8_GEMM_SHARE:.3f} / FP8-to-bf16 ratio {fp8_ratio:.4f},"
            " "
            f"memory = {B200_MEMORY:.3f}, to GB200 microbenchmarks ({B200_SOURCE}); overlap_p, launch_s of "
            f"H100-SXM (assumption); no FP8 end-to-end B200 figure to fit or hold out; by {SCRIPT}"
        ),
    )


MARKER = "# --- roofline_published"


def render_section(fits: list[PublishedFit], b200: Efficiency) -> str:
    """The `roofline_published` section of calibration.yaml (deterministic text)."""
    lines = [
        MARKER + ": generated by scripts/fit_published.py; do not edit by hand, re-run the script.",
        "# Roofline efficiencies of GPUs without operator timings, fitted to published end-to-end serving",
        f"#   throughputs (catalog/{CATALOG}) through the serving iteration model; same meaning as",
        "#   `roofline` (compute is the bf16 efficiency; the FP8 one is compute x the fp8_gemm_efficiency",
        "#   ratio of training_calibration.yaml). mape_fitted in percent over the fitted rows; held-out",
        "#   rows are reported by `gigawatt validate physics`.",
        "roofline_published:",
    ]
    entries = [(f.gpu, f.efficiency, f.rows, f.mape_fitted) for f in fits] + [("B200", b200, (), None)]
    for name, eff, rows, mape in sorted(entries, key=lambda e: e[0]):
        lines += [
            f"  {name}:",
            *efficiency_lines(eff),
            f"    rows: {len(rows)}",
            f"    mape_fitted: {'null' if mape is None else fmt_number(mape)}",
            f'    source: "{eff.source}"',
        ]
    return "\n".join(lines) + "\n"


def splice(text: str, section: str) -> str:
    """calibration.yaml with its published section replaced (or appended), the rest untouched."""
    head = text.split(MARKER, 1)[0].rstrip("#\n")
    return head + "\n#\n" + section
