"""Collective communication time over NVLink and InfiniBand (DESIGN §4.4).

Ring all-reduce of S bytes over n GPUs: `2(n-1)/n · S / (BW · eff) + 2(n-1) · latency`. For the GPU
set-ups that have NCCL measurements, `fitted_link` returns the link whose bus bandwidth and per-step
latency were fitted to them (catalog/calibration.yaml, `collectives:`; refit with
scripts/fit_roofline.py); the fitted latency absorbs NCCL's fixed launch cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gigawatt.catalog import CatalogError, _load


@dataclass(frozen=True)
class Link:
    """A link class: bandwidth per GPU in one direction (B/s) and per-hop latency (s)."""

    bandwidth: float
    latency: float
    efficiency: float = 1.0  # achieved / nominal bus bandwidth


def ring_all_reduce_time(
    size_bytes: float | np.ndarray, n: int | np.ndarray, link: Link
) -> float | np.ndarray:
    """Ring all-reduce: 2(n-1)/n · S / BW + 2(n-1) · latency; sizes and n may be arrays (broadcast)."""
    if np.ndim(size_bytes) == 0 and np.ndim(n) == 0:
        if n <= 1:
            return 0.0
        steps = 2 * (n - 1)
        return steps / n * size_bytes / (link.bandwidth * link.efficiency) + steps * link.latency
    workers = np.asarray(n, dtype=float)
    steps = 2.0 * (workers - 1.0)
    per_worker = np.divide(steps, workers, out=np.zeros_like(steps), where=workers > 0)
    t = per_worker * np.asarray(size_bytes, dtype=float) / (link.bandwidth * link.efficiency)
    return np.where(workers > 1, t + steps * link.latency, 0.0)


def ring_all_gather_time(
    size_bytes: np.ndarray | float,
    n: np.ndarray | int,
    bandwidth: np.ndarray | float,
    latency: np.ndarray | float,
) -> np.ndarray:
    """Ring all-gather (or reduce-scatter), half an all-reduce: (n-1)/n · S / BW + (n-1) · latency.

    bandwidth is the achieved one (efficiency applied); every argument may be an array (broadcast), as the
    training planner prices each configuration's groups over links of their own.
    """
    workers = np.asarray(n, dtype=float)
    t = (workers - 1) / np.maximum(workers, 1) * size_bytes / bandwidth + (workers - 1) * latency
    return np.where((workers > 1) & (np.asarray(size_bytes) > 0), t, 0.0)


@cache
def fitted_link(setup: str, num_workers: int, devices_per_node: int) -> Link:
    """The all-reduce link fitted to NCCL measurements of `setup` with this many workers and GPUs per node."""
    try:
        entries = _load("calibration.yaml").get("collectives", {})
    except FileNotFoundError:
        entries = {}
    if setup not in entries:
        raise CatalogError(f"no all-reduce fit for set-up {setup!r}; fitted: {', '.join(entries) or 'none'}")
    for group in entries[setup]["groups"]:
        if (group["num_workers"], group["devices_per_node"]) == (num_workers, devices_per_node):
            return Link(bandwidth=float(group["bus_bandwidth"]), latency=float(group["step_latency_s"]))
    fitted = ", ".join(f"{g['num_workers']}/{g['devices_per_node']}" for g in entries[setup]["groups"])
    raise CatalogError(
        f"no all-reduce fit for {setup!r} with {num_workers} workers, {devices_per_node} per node; "
        f"fitted workers/per-node: {fitted}"
    )


def send_recv_time(size_bytes: float, link: Link) -> float:
    return size_bytes / (link.bandwidth * link.efficiency) + link.latency


# InfiniBand NDR 400 Gb/s per GPU NIC: ≈ 50 GB/s nominal, ≈ 40 GB/s achieved; 2.8 µs between nodes under
# one leaf switch, 3.7 µs across leaves (DeepSeek-V3 ISCA'25 paper, DESIGN §4.4).
INFINIBAND_SAME_LEAF = Link(bandwidth=50e9, latency=2.8e-6, efficiency=40.0 / 50.0)
INFINIBAND_ACROSS_LEAVES = Link(bandwidth=50e9, latency=3.7e-6, efficiency=40.0 / 50.0)

# NCCL all-reduce measurements of 8-GPU NVSwitch systems (calibration.yaml), by the GPUs they describe:
# HGX H200 has the H100's NVLink 4 and NVSwitch baseboard (900 GB/s per GPU on both datasheets).
MEASURED_NVSWITCH_SETUPS = {"H100-SXM": "h100_dgx", "H200-SXM": "h100_dgx", "A100-SXM-80GB": "a100_dgx"}
# NVSwitch systems of a newer NVLink generation: the measured set-up's fit with its bus bandwidth scaled
# by the NVLink bandwidth ratio, step latency kept (assumption: no NCCL measurement of the newer system).
SCALED_NVSWITCH_SETUPS = {"B200": ("h100_dgx", 900e9)}
# NVLink latency per hop, H100 (DeepSeek-V3 ISCA'25 paper, DESIGN §4.4).
NVLINK_LATENCY_S = 3.33e-6
# Achieved / nominal one-direction NVLink bandwidth for an 8-GPU all-reduce on H100 DGX
# (346 GB/s fitted bus bandwidth over 450 GB/s), used where a GPU has no measurement of its own.
NVLINK_EFFICIENCY_UNMEASURED = 346.0 / 450.0


def nvlink_link(gpu_name: str, nvlink_bandwidth: float, tp: int, gpus_per_node: int) -> Link:
    """The link a tensor-parallel all-reduce inside one node runs over: fitted where measured."""
    setup, scale = MEASURED_NVSWITCH_SETUPS.get(gpu_name), 1.0
    if gpu_name in SCALED_NVSWITCH_SETUPS:
        setup, measured_nvlink = SCALED_NVSWITCH_SETUPS[gpu_name]
        scale = nvlink_bandwidth / measured_nvlink
    if setup is not None:
        try:
            link = fitted_link(setup, tp, gpus_per_node)
            return Link(bandwidth=link.bandwidth * scale, latency=link.latency, efficiency=link.efficiency)
        except CatalogError:
            pass
    return Link(
        bandwidth=nvlink_bandwidth / 2.0, latency=NVLINK_LATENCY_S, efficiency=NVLINK_EFFICIENCY_UNMEASURED
    )
