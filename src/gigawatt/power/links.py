"""Power a GPU draws while its collectives run (DESIGN §4.2), so communication phases are not idle.

During a collective the GPU drives its link SerDes and streams the data through HBM (NCCL's ring
writes each received byte, reads the local chunk it reduces with, and reads the result to send on).
Per GPU, at a link rate r (bytes/s, one direction) for a share `comm` of the time:

    P_comm = comm · [2 · r · 8 · e_bit  +  w_m · (P_max − P_idle) · min(1, k · r / BW_hbm)]

with e_bit the link's energy per bit and k the HBM bytes per link byte (catalog/node_power.yaml). The
NIC and NVSwitch side of the traffic is host power (gigawatt.power.host, driven by the same share).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gigawatt.catalog import GpuSpec, _load


@dataclass(frozen=True)
class LinkFigures:
    energy_per_bit_j: float
    hbm_bytes_per_link_byte: float
    utilisation: float


@cache
def link_figures() -> LinkFigures:
    entry = _load("node_power.yaml")["links"]
    return LinkFigures(
        energy_per_bit_j=float(entry["nvlink_energy_per_bit"]["value"]) * 1e-12,
        hbm_bytes_per_link_byte=float(entry["hbm_bytes_per_link_byte"]["value"]),
        utilisation=float(entry["link_utilisation"]["value"]),
    )


def nvlink_rate(gpu: GpuSpec) -> float:
    """Bytes/s one direction that a collective in flight moves over the GPU's NVLinks."""
    return 0.5 * gpu.nvlink_bandwidth * link_figures().utilisation


def comm_power_w(gpu: GpuSpec, comm: np.ndarray | float, rate_bytes_s: float) -> np.ndarray | float:
    """Watts above idle a GPU draws for collectives running a share `comm` of the time at `rate_bytes_s`
    (one direction); the serdes term counts both directions, as a ring sends and receives at once."""
    fig = link_figures()
    serdes = 2.0 * rate_bytes_s * 8.0 * fig.energy_per_bit_j
    memory_share = min(1.0, fig.hbm_bytes_per_link_byte * rate_bytes_s / gpu.hbm_bandwidth)
    hbm = gpu.memory_power_fraction * (gpu.power_full_activity - gpu.idle_power) * memory_share
    return comm * (serdes + hbm)
