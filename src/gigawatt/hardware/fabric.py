"""The cluster network for collectives across nodes: a rail-optimised leaf/spine(/core) fabric (DESIGN §4.4,
§4.7), and the time of the collectives a training step runs over it.

Every GPU has its own NIC on its rail's leaf switch; `nodes_per_leaf` nodes share a leaf, `nodes_per_pod`
nodes share a spine layer with full bisection below it, and pods meet in a core layer. Each tier above the
leaf may be oversubscribed: its uplinks carry 1/oversubscription of what the GPUs below could send.

A collective group is the set of ranks `base + Σ i_d·stride_d` over its dimensions (size_d, stride_d) —
ranks are GPU indices, laid out as the parallel dimensions nest. Whether a group leaves a node, a leaf or
a pod, and how many of its members share each, decides its bandwidth: when every group of a kind runs at
once (as in a training step), the m members of a group that share a domain send through m of that
domain's uplinks, so a ring's per-rank bandwidth out of the domain is m × (NIC / oversubscription) of
that tier. This is why data parallelism, placed outermost, tolerates an oversubscribed core (Llama 3,
arXiv 2407.21783 §3.3.1): its groups have many members in each pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gigawatt.catalog import CatalogError, _load
from gigawatt.hardware.collectives import Link
from gigawatt.units import parse_quantity

Dims = tuple[tuple[int, int], ...]  # (size, stride) per dimension of a group


@dataclass(frozen=True)
class Nic:
    """A GPU's network interface and the switch latencies of its fabric, from `catalog/networks.yaml`."""

    name: str
    bandwidth: float  # B/s, one direction
    efficiency: float  # achieved / nominal for large messages
    latency_leaf: float  # s, between nodes under one leaf
    latency_spine: float  # s, across leaves inside a pod
    latency_core: float  # s, across pods


@cache
def nic(name: str) -> Nic:
    entries = _load("networks.yaml")["nics"]
    if name not in entries:
        raise CatalogError(f"unknown NIC {name!r}; known: {', '.join(entries)}")
    e = entries[name]

    def value(field: str, dimension: str) -> float:
        return parse_quantity(e[field]["value"], dimension)

    return Nic(
        name=name,
        bandwidth=value("bandwidth", "bandwidth"),
        efficiency=float(e["efficiency"]["value"]),
        latency_leaf=value("latency_same_leaf", "time"),
        latency_spine=value("latency_across_leaves", "time"),
        latency_core=value("latency_across_pods", "time"),
    )


def members_within(domain_gpus: int, dims: Dims) -> int:
    """How many members of one group share an aligned domain of `domain_gpus` consecutive GPUs."""
    count = 1
    for size, stride in dims:
        if size > 1 and stride < domain_gpus:
            count *= min(size, max(1, domain_gpus // stride))
    return count


@dataclass(frozen=True)
class Fabric:
    nic: Nic
    gpus_per_node: int
    nodes_per_leaf: int
    nodes_per_pod: int
    spine_oversubscription: float  # leaf uplinks to the spine
    core_oversubscription: float  # pod uplinks to the core
    nvlink: Link  # inside a node: the fitted (or nominal) NVLink all-reduce link

    def link(self, dims: Dims) -> Link:
        """Per-rank ring bandwidth (nominal × efficiency folded into `bandwidth`) and per-step latency of a
        group whose dimensions are `dims`, with every group of its kind communicating at once."""
        size = int(np.prod([s for s, _ in dims]))
        in_node = members_within(self.gpus_per_node, dims)
        if in_node >= size:
            return self.nvlink
        per_gpu = self.nic.bandwidth * self.nic.efficiency
        bandwidth = in_node * per_gpu
        if in_node > 1:  # the members inside a node also pass the data on over NVLink
            bandwidth = min(bandwidth, self.nvlink.bandwidth * self.nvlink.efficiency)
        latency = self.nic.latency_leaf
        leaf = self.gpus_per_node * self.nodes_per_leaf
        in_leaf = members_within(leaf, dims)
        if in_leaf < size:
            bandwidth = min(bandwidth, in_leaf * per_gpu / self.spine_oversubscription)
            latency = self.nic.latency_spine
            pod = self.gpus_per_node * self.nodes_per_pod
            in_pod = members_within(pod, dims)
            if in_pod < size:
                bandwidth = min(bandwidth, in_pod * per_gpu / self.core_oversubscription)
                latency = self.nic.latency_core
        return Link(bandwidth=bandwidth, latency=latency)

    def all_to_all_time(self, size_bytes: float | np.ndarray, dims: Dims) -> float | np.ndarray:
        """All-to-all of S bytes per rank over a group: each rank sends S/n to every other member. The part
        for members in its own node goes over NVLink, the rest through its own NIC, and the part leaving
        its leaf (pod) through that tier's oversubscribed uplinks; the slowest path sets the time, and the
        sends go out together, so one latency is paid."""
        size = int(np.prod([s for s, _ in dims]))
        if size <= 1:
            return 0.0 * size_bytes
        per_gpu = self.nic.bandwidth * self.nic.efficiency
        in_node = members_within(self.gpus_per_node, dims)
        in_leaf = members_within(self.gpus_per_node * self.nodes_per_leaf, dims)
        in_pod = members_within(self.gpus_per_node * self.nodes_per_pod, dims)
        share = size_bytes / size
        t = share * (in_node - 1) / (self.nvlink.bandwidth * self.nvlink.efficiency)
        latency = self.nvlink.latency
        if in_node < size:
            t = np.maximum(t, share * (size - in_node) / per_gpu)
            latency = self.nic.latency_leaf
        if in_leaf < size:
            t = np.maximum(t, share * (size - in_leaf) * self.spine_oversubscription / per_gpu)
            latency = self.nic.latency_spine
        if in_pod < size:
            t = np.maximum(t, share * (size - in_pod) * self.core_oversubscription / per_gpu)
            latency = self.nic.latency_core
        return t + latency

    def point_to_point(self, stride: int) -> Link:
        """The link between a GPU and the one `stride` ranks away (a pipeline neighbour)."""
        if stride < self.gpus_per_node:
            return self.nvlink
        per_gpu = self.nic.bandwidth * self.nic.efficiency
        if stride < self.gpus_per_node * self.nodes_per_leaf:
            return Link(per_gpu, self.nic.latency_leaf)
        if stride < self.gpus_per_node * self.nodes_per_pod:
            return Link(per_gpu / self.spine_oversubscription, self.nic.latency_spine)
        return Link(per_gpu / self.core_oversubscription, self.nic.latency_core)
