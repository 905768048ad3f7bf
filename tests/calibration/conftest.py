"""Shared fixtures: the real vidur data folder (when present) and synthetic folders in the same layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from gigawatt.calibration.predict import PRECISION, gemm_work, resolve_gpu
from gigawatt.calibration.vidur import LINEAR_OPS, ComputeRows
from gigawatt.hardware.collectives import Link, ring_all_reduce_time
from gigawatt.hardware.roofline import Efficiency, op_times

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "profiling"

# Known truth the fit must recover from synthetic timings.
TRUE_EFF = Efficiency(compute=0.62, memory=0.87, launch_s=4.0e-6, overlap_p=1.8, source="synthetic truth")
TRUE_LINK = Link(bandwidth=120e9, latency=6.0e-6)
# Two toy models: (n_head, n_kv_head, n_embd, n_expanded_embd, gated)
MODELS = {
    "toy/dense-4k": (32, 32, 4096, 11008, True),
    "toy/gqa-8k": (64, 8, 8192, 22016, True),
    "toy/plain-2k": (32, 32, 2560, 10240, False),
}


@pytest.fixture
def real_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(
            f"measured data not found at {DATA} (vidur data/profiling beside the repository; "
            "see ../shared/data/README.md)"
        )
    return DATA


def _write(path: Path, columns: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table(columns), path)


def write_synthetic(root: Path, noise: float = 0.0, seed: int = 0) -> Path:
    """A vidur-layout folder whose times follow TRUE_EFF on the catalog A100 and TRUE_LINK."""
    rng = np.random.default_rng(seed)
    tokens = np.concatenate([[1, 2, 4], np.arange(8, 4097, 24)]).astype(float)
    spec = resolve_gpu("a100")
    for model, (heads, kv, embd, ffn, gated) in MODELS.items():
        tok, tp = (a.ravel() for a in np.meshgrid(tokens, [1.0, 2.0, 4.0]))
        cols: dict[str, np.ndarray] = {
            "n_head": np.full(len(tok), heads),
            "n_kv_head": np.full(len(tok), kv),
            "n_embd": np.full(len(tok), embd),
            "n_expanded_embd": np.full(len(tok), ffn),
            "vocab_size": np.full(len(tok), 32000),
            "use_gated_mlp": np.full(len(tok), gated),
            "num_tokens": tok.astype(int),
            "num_tensor_parallel_workers": tp.astype(int),
        }
        for op in LINEAR_OPS:
            rows = ComputeRows(
                gpu=np.full(len(tok), "a100", dtype=object),
                model=np.full(len(tok), model, dtype=object),
                op=np.full(len(tok), op, dtype=object),
                tokens=tok,
                tp=tp,
                n_head=cols["n_head"] * 1.0,
                n_kv_head=cols["n_kv_head"] * 1.0,
                n_embd=cols["n_embd"] * 1.0,
                n_expanded_embd=cols["n_expanded_embd"] * 1.0,
                gated=cols["use_gated_mlp"],
                measured=tok,
            )
            flops, traffic = gemm_work(rows)
            t = op_times(flops, traffic, spec, PRECISION, spec.clock_boost, TRUE_EFF)[0]
            cols[f"time_stats.{op}.median"] = t * np.exp(noise * rng.standard_normal(len(t))) * 1e3  # ms
        _write(root / "compute" / "a100" / model / "mlp.csv", cols)
    size = np.unique(np.geomspace(2048, 2**28, 300).astype(int)).astype(float)
    sizes, workers = (a.ravel() for a in np.meshgrid(size, [2.0, 4.0, 8.0]))
    t = ring_all_reduce_time(sizes, workers, TRUE_LINK) * np.exp(noise * rng.standard_normal(len(sizes)))
    _write(
        root / "network" / "toy_nvswitch" / "all_reduce.csv",
        {
            "time_stats.all_reduce.median": t * 1e3,
            "rank": np.zeros(len(sizes), dtype=int),
            "num_workers": workers.astype(int),
            "size": sizes.astype(int),
            "devices_per_node": workers.astype(int),
        },
    )
    return root


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    return write_synthetic(tmp_path / "profiling")
