"""Predict measured operator and all-reduce times with the twin's own models.

The GEMMs are built by `gigawatt.arch.ops._matmul` (the same FLOP and byte counts the simulator uses)
and timed by `gigawatt.hardware.roofline.op_times` at the boost clock; all-reduces by
`gigawatt.hardware.collectives.ring_all_reduce_time` on the fitted link of the set-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gigawatt.arch.ops import _matmul
from gigawatt.calibration.vidur import ComputeRows, DataError, NetworkRows
from gigawatt.catalog import CatalogError, GpuSpec, gpu
from gigawatt.hardware.collectives import Link, fitted_link, ring_all_reduce_time
from gigawatt.hardware.roofline import Efficiency, efficiency, op_times

# vidur profiles in fp16; on A100, A40 and H100 the fp16 and bf16 tensor-core peaks are the same,
# and both store 2 bytes per element.
PRECISION = "bf16"
_BYTES = 2


def resolve_gpu(folder: str) -> GpuSpec:
    """The catalog GPU of a vidur GPU folder name ("a100", "a40", "h100" are catalog aliases)."""
    try:
        return gpu(folder)
    except CatalogError as err:
        raise DataError(f"compute/{folder}: GPU folder name is not in the GPU catalog ({err})") from err


def gemm_work(rows: ComputeRows) -> tuple[np.ndarray, np.ndarray]:
    """FLOPs and HBM bytes of each row's GEMM on one tensor-parallel shard.

    Column-parallel GEMMs (QKV, MLP up) split their output; row-parallel ones (output projection,
    MLP down) split their input. `_matmul` splits its `n`, so row-parallel GEMMs pass the split input
    width as `n`: FLOPs and weight bytes are symmetric in k and n, and the activation bytes
    `tokens · (k + n/tp)` then count the shard's real input and output.
    """
    head_dim = rows.n_embd / rows.n_head
    # KV heads are replicated when there are fewer of them than TP ranks.
    kv_heads = np.maximum(rows.n_kv_head, rows.tp)
    split = {
        "attn_pre_proj": (rows.n_head + 2.0 * kv_heads) * head_dim,
        "attn_post_proj": rows.n_head * head_dim,
        "mlp_up_proj": np.where(rows.gated, 2.0, 1.0) * rows.n_expanded_embd,
        "mlp_down_proj": rows.n_expanded_embd,
    }
    n = np.zeros(len(rows))
    for op, width in split.items():  # four operator names, each a vectorised select
        n = np.where(rows.op == op, width, n)
    gemm = _matmul("gemm", rows.tokens, rows.n_embd, n, rows.tp, _BYTES, _BYTES, 1)  # type: ignore[arg-type]
    return np.asarray(gemm.flops, dtype=float), np.asarray(gemm.bytes, dtype=float)


def predict_compute(rows: ComputeRows, effs: Mapping[str, Efficiency] | None = None) -> np.ndarray:
    """Predicted time (s) of every row; `effs` by GPU folder name overrides the catalog calibration."""
    flops, traffic = gemm_work(rows)
    pred = np.full(len(rows), np.nan)
    for folder in np.unique(rows.gpu):  # a loop over GPUs, vectorised over their rows
        spec = resolve_gpu(str(folder))
        eff = effs[folder] if effs and folder in effs else efficiency(spec.name)
        mask = rows.gpu == folder
        pred[mask] = op_times(flops[mask], traffic[mask], spec, PRECISION, spec.clock_boost, eff)[0]
    return pred


LinkLookup = Callable[[str, int, int], Link]


def predict_all_reduce(rows: NetworkRows, link_of: LinkLookup = fitted_link) -> np.ndarray:
    """Predicted time (s) of every row; NaN where the set-up or worker layout has no fitted link."""
    pred = np.full(len(rows), np.nan)
    for setup, n, dpn in groups(rows):
        try:
            link = link_of(setup, n, dpn)
        except (CatalogError, KeyError):
            continue
        mask = (rows.setup == setup) & (rows.num_workers == n) & (rows.devices_per_node == dpn)
        pred[mask] = ring_all_reduce_time(rows.size[mask], n, link)
    return pred


def groups(rows: NetworkRows) -> list[tuple[str, int, int]]:
    """Distinct (set-up, workers, GPUs per node) configurations, sorted."""
    keys = []
    for setup in np.unique(rows.setup):
        mask = rows.setup == setup
        layouts = np.unique(np.stack([rows.num_workers[mask], rows.devices_per_node[mask]], axis=1), axis=0)
        keys += [(str(setup), int(n), int(d)) for n, d in layouts]
    return keys
