"""Expert placement in the style of deepseek-ai/EPLB: replicate hot experts and pack replicas onto GPUs.

Physical slots are numbered GPU by GPU: slot s lives on GPU `s // (n_slots // n_gpus)`, and GPUs are
numbered node by node. The policies:

* hierarchical — pack expert groups onto nodes evenly, replicate experts inside each node, then pack the
  replicas onto the node's GPUs (EPLB's policy when groups divide evenly over nodes). Every replica of an
  expert stays on the node of its group, so group/node-limited routing keeps its traffic bound.
* global — replicate and pack over all GPUs as if there were one node and one group: the best balance,
  but an expert's replicas may sit on any node.
* locality — see `gigawatt.moe.locality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.packing import balanced_pack, invert, replicate

Policy = Literal["hierarchical", "global", "locality"]
POLICIES: tuple[Policy, ...] = ("hierarchical", "global", "locality")


@dataclass(frozen=True)
class Placement:
    """Where each physical expert slot lives, per layer.

    phy2log: (layers, slots) logical expert held by each physical slot.
    logcnt: (layers, experts) replicas of each logical expert.
    gpu_load: (layers, gpus) load per GPU, a replica carrying its expert's load / its replica count.
    n_nodes: nodes the GPUs are spread over (GPUs numbered node by node).
    """

    phy2log: NDArray[np.int64]
    logcnt: NDArray[np.int64]
    gpu_load: NDArray[np.float64]
    n_nodes: int

    @property
    def n_gpus(self) -> int:
        return self.gpu_load.shape[1]

    @property
    def slots_per_gpu(self) -> int:
        return self.phy2log.shape[1] // self.n_gpus

    @property
    def max_over_mean(self) -> NDArray[np.float64]:
        """Per layer: load of the busiest GPU over the mean GPU load (1.0 is perfect balance)."""
        mean = self.gpu_load.mean(axis=1)
        return np.divide(self.gpu_load.max(axis=1), mean, out=np.ones_like(mean), where=mean > 0)

    def slot_gpu(self) -> NDArray[np.int64]:
        """GPU of each physical slot (same for every layer)."""
        return np.arange(self.phy2log.shape[1]) // self.slots_per_gpu


def describe_shape_problem(
    n_experts: int, n_slots: int, n_groups: int, n_nodes: int, n_gpus: int
) -> str | None:
    """Why these sizes cannot be placed, or None when they can (shared by the API and the CLI)."""
    if min(n_experts, n_slots, n_groups, n_nodes, n_gpus) < 1:
        return "experts, replicas, groups, nodes and gpus must all be at least 1"
    if n_slots < n_experts:
        return f"replicas ({n_slots}) must be at least the number of experts ({n_experts})"
    if n_slots % n_gpus:
        return f"replicas ({n_slots}) must be a multiple of gpus ({n_gpus})"
    if n_gpus % n_nodes:
        return f"gpus ({n_gpus}) must be a multiple of nodes ({n_nodes})"
    if n_experts % n_groups:
        return f"experts ({n_experts}) must be divisible by groups ({n_groups})"
    if n_groups % n_nodes:
        return f"groups ({n_groups}) must be divisible by nodes ({n_nodes})"
    return None


def as_load_matrix(weight: ArrayLike) -> NDArray[np.float64]:
    """Per-layer expert loads as a (layers, experts) float array; rejects negative or non-finite loads."""
    loads = np.asarray(weight, dtype=np.float64)
    if loads.ndim == 1:
        loads = loads[None, :]
    if loads.ndim != 2 or loads.size == 0:
        raise ValueError(f"loads must be a non-empty (layers, experts) array, got shape {loads.shape}")
    if not np.isfinite(loads).all() or (loads < 0).any():
        raise ValueError("loads must be finite and non-negative")
    return loads


def hierarchical(
    weight: NDArray[np.float64], n_slots: int, n_groups: int, n_nodes: int, n_gpus: int
) -> NDArray[np.int64]:
    """EPLB hierarchical balancing; returns phy2log (layers, slots)."""
    n_layers, n_experts = weight.shape
    group_size = n_experts // n_groups
    groups_per_node = n_groups // n_nodes
    experts_per_node = n_experts // n_nodes
    slots_per_node = n_slots // n_nodes
    slots_per_gpu = n_slots // n_gpus

    # 1. groups to nodes. Relabel experts node-major ("node-local ids") so each node owns a contiguous range.
    group_load = weight.reshape(n_layers, n_groups, group_size).sum(axis=2)
    group_node, group_rank = balanced_pack(group_load, n_nodes)
    group_base = (group_node * groups_per_node + group_rank) * group_size
    log2local = (group_base[:, :, None] + np.arange(group_size)).reshape(n_layers, n_experts)
    local2log = invert(log2local)

    # 2. replicate inside each node: one row per (layer, node).
    node_weight = np.take_along_axis(weight, local2log, axis=1).reshape(-1, experts_per_node)
    slot2local, local_count = replicate(node_weight, slots_per_node)

    # 3. pack each node's replicas onto its GPUs, a replica weighing its expert's load / its replica count.
    replica_weight = np.take_along_axis(node_weight / local_count, slot2local, axis=1)
    gpu, rank = balanced_pack(replica_weight, n_gpus // n_nodes)
    position2slot = invert(gpu * slots_per_gpu + rank)
    position2local = np.take_along_axis(slot2local, position2slot, axis=1).reshape(n_layers, n_nodes, -1)
    position2local += (np.arange(n_nodes) * experts_per_node)[None, :, None]
    return np.take_along_axis(local2log, position2local.reshape(n_layers, n_slots), axis=1)


def from_phy2log(
    phy2log: NDArray[np.int64], weight: NDArray[np.float64], n_gpus: int, n_nodes: int
) -> Placement:
    """Build a Placement (replica counts, GPU loads) from a slot table."""
    n_layers, n_experts = weight.shape
    layer_offset = (np.arange(n_layers) * n_experts)[:, None]
    logcnt = np.bincount((phy2log + layer_offset).ravel(), minlength=n_layers * n_experts)
    logcnt = logcnt.reshape(n_layers, n_experts)
    replica_load = np.take_along_axis(weight / logcnt, phy2log, axis=1)
    gpu_load = replica_load.reshape(n_layers, n_gpus, -1).sum(axis=2)
    return Placement(phy2log=phy2log, logcnt=logcnt, gpu_load=gpu_load, n_nodes=n_nodes)


def place(
    weight: ArrayLike,
    *,
    n_slots: int,
    n_groups: int,
    n_nodes: int,
    n_gpus: int,
    policy: Policy = "hierarchical",
    locality: float = 1.0,
) -> Placement:
    """Place replicated experts on GPUs.

    weight: (layers, experts) or (experts,) load per logical expert (tokens routed in a recent window).
    n_slots: physical expert slots in total (logical experts + redundant replicas).
    locality: only for policy="locality", the share of spare slots spent on per-node copies (0..1).
    """
    loads = as_load_matrix(weight)
    problem = describe_shape_problem(loads.shape[1], n_slots, n_groups, n_nodes, n_gpus)
    if problem:
        raise ValueError(problem)
    if policy == "hierarchical":
        phy2log = hierarchical(loads, n_slots, n_groups, n_nodes, n_gpus)
    elif policy == "global":
        phy2log = hierarchical(loads, n_slots, 1, 1, n_gpus)
    elif policy == "locality":
        from gigawatt.moe.locality import locality_aware  # locality builds on this module

        phy2log = locality_aware(loads, n_slots, n_groups, n_nodes, n_gpus, locality)
    else:
        raise ValueError(f"unknown placement policy {policy!r}; allowed: {', '.join(POLICIES)}")
    return from_phy2log(phy2log, loads, n_gpus, n_nodes)
