"""Host power of a node: everything but the GPUs, varying with load (DESIGN §4.2).

    P_host = Σ_parts [idle + active · activity(driver)] + fans

Parts and figures are in catalog/node_power.yaml (CPUs, DRAM, NICs, NVSwitches, storage, board, fans).
A part's activity is the node's mean GPU busy share (the host feeds and launches the GPUs' work), its
mean share of time in collectives (NIC and NVSwitch traffic), or none. Fans are a constant at a typical
speed here: `HostModel.fans_w` is the one place fan power adds, for a thermal model that drives fans
from inlet temperature to replace.

A scenario's `power.host_power_per_node` overrides the model with a constant (the earlier behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gigawatt.catalog import CatalogError, _load
from gigawatt.groups import group_sum
from gigawatt.safety import excerpt
from gigawatt.units import parse_quantity

DEFAULT_HOST = "hgx-8gpu-2s-xeon"
DRIVERS = ("gpu_busy", "comm", "none")


@dataclass(frozen=True)
class HostModel:
    """Per node: watts at rest and the watts each activity adds at full activity."""

    name: str
    idle_w: float  # every part at rest, fans excluded
    busy_w: float  # added at a GPU busy share of 1
    comm_w: float  # added with collectives running all the time
    fans_w: float  # fans (constant here; a thermal model's fan power replaces it)

    def power(self, gpu_busy: np.ndarray, comm: np.ndarray | float = 0.0) -> np.ndarray:
        """Host watts per node from the node's mean GPU busy share and share of time in collectives."""
        return self.idle_w + self.fans_w + self.busy_w * gpu_busy + self.comm_w * comm

    def node_power(
        self, gpu_busy: np.ndarray | float, comm: np.ndarray | float, gpus_per_node: int, nodes: int
    ) -> np.ndarray:
        """Host watts per node from per-GPU busy shares and shares in collectives (one group sum: the
        model is linear in the node means)."""
        per_gpu = self.busy_w * np.asarray(gpu_busy) + self.comm_w * np.asarray(comm)
        if np.ndim(per_gpu) == 0:
            return np.full(nodes, self.idle_w + self.fans_w + float(per_gpu))
        return self.idle_w + self.fans_w + group_sum(per_gpu, gpus_per_node) / gpus_per_node

    @property
    def full_w(self) -> float:
        """Host power with its GPUs busy and collectives running all the time."""
        return self.idle_w + self.fans_w + self.busy_w + self.comm_w


@cache
def host_model(gpus_per_node: int, name: str = DEFAULT_HOST) -> HostModel:
    hosts = _load("node_power.yaml")["hosts"]
    if name not in hosts:
        raise CatalogError(f"unknown host {excerpt(name)}; known: {', '.join(hosts)}")
    idle = {"rest": 0.0, "fans": 0.0}
    active = {"gpu_busy": 0.0, "comm": 0.0, "none": 0.0}
    for part, entry in hosts[name]["parts"].items():
        count = gpus_per_node if entry.get("per") == "gpu" else 1
        driver = entry["driver"]
        if driver not in DRIVERS:
            raise CatalogError(f"host {name} part {part}: driver {driver!r} is not one of {DRIVERS}")
        rest = count * parse_quantity(entry["idle"]["value"], "power")
        idle["fans" if part == "fans" else "rest"] += rest
        active[driver] += count * parse_quantity(entry["active"]["value"], "power")
    return HostModel(
        name=name, idle_w=idle["rest"], busy_w=active["gpu_busy"], comm_w=active["comm"], fans_w=idle["fans"]
    )


class ConstantHost:
    """A fixed host power per node (the scenario's `power.host_power_per_node`)."""

    def __init__(self, watts: float):
        self.watts = watts
        self.full_w = watts

    def power(self, gpu_busy: np.ndarray, comm: np.ndarray | float = 0.0) -> np.ndarray:
        return np.full(np.shape(gpu_busy), self.watts)

    def node_power(
        self, gpu_busy: np.ndarray | float, comm: np.ndarray | float, gpus_per_node: int, nodes: int
    ) -> np.ndarray:
        return np.full(nodes, self.watts)


def node_host(override_w: float | None, gpus_per_node: int) -> HostModel | ConstantHost:
    """The host model a scenario runs with: its constant override, else the catalog model."""
    return ConstantHost(override_w) if override_w is not None else host_model(gpus_per_node)
