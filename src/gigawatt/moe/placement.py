"""Expert placement as deepseek-ai/EPLB does it: replicate hot experts and pack the replicas onto GPUs.

Physical slots are numbered GPU by GPU: slot s lives on GPU `s // (n_slots // n_gpus)`, and GPUs are
numbered node by node. The policies:

* eplb (default) — EPLB's `rebalance_experts`: hierarchical when the expert groups divide evenly over
  the nodes, otherwise global. For every input EPLB accepts, phy2log, log2phy and logcnt are EPLB's
  (see `gigawatt.moe.packing` for the float32 arithmetic and tie-breaking this takes).
* hierarchical — pack expert groups onto nodes evenly, replicate experts inside each node, then pack the
  replicas onto the node's GPUs. Every replica of an expert stays on the node of its group, so
  group/node-limited routing keeps its traffic bound. Needs groups divisible by nodes.
* global — the hierarchical policy with one group and one node: the best balance, but an expert's
  replicas may sit on any node.
* locality — see `gigawatt.moe.locality`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.packing import balanced_pack, invert, replicate

Policy = Literal["eplb", "hierarchical", "global", "locality"]
POLICIES: tuple[Policy, ...] = ("eplb", "hierarchical", "global", "locality")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # EPLB works in float32: a larger load would become inf


@dataclass(frozen=True)
class Placement:
    """Where each physical expert slot lives, per layer.

    phy2log: (layers, slots) logical expert held by each physical slot.
    log2phy: (layers, experts, max replicas) slots of each logical expert by replica number, -1 padding
        (the width is the most replicas of any expert in any layer, as EPLB returns it).
    logcnt: (layers, experts) replicas of each logical expert.
    gpu_load: (layers, gpus) load per GPU, a replica carrying its expert's load / its replica count.
    n_nodes: nodes the GPUs are spread over (GPUs numbered node by node).
    """

    phy2log: NDArray[np.int64]
    log2phy: NDArray[np.int64]
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


PLAIN_NAMES = {k: k for k in ("experts", "replicas", "groups", "nodes", "gpus")}


def describe_shape_problem(
    n_experts: int,
    n_slots: int,
    n_groups: int,
    n_nodes: int,
    n_gpus: int,
    policy: Policy = "eplb",
    names: Mapping[str, str] = PLAIN_NAMES,
) -> str | None:
    """Why these sizes cannot be placed under `policy`, or None when they can (shared by the API and CLI).

    The rules are EPLB's assertions: replicas a multiple of gpus and at least the experts; for the
    hierarchical policy also experts divisible by groups, groups by nodes and gpus by nodes. Under "eplb",
    groups not divisible by nodes select the global policy, which asks nothing of groups and nodes.
    `names` maps each size to the word the message uses for it (the CLI passes its option names).
    """
    n = names
    sizes = {"experts": n_experts, "replicas": n_slots, "groups": n_groups, "nodes": n_nodes, "gpus": n_gpus}
    small = [f"{n[key]} ({value})" for key, value in sizes.items() if value < 1]
    if small:
        return f"{', '.join(small)} must be at least 1"
    if n_slots < n_experts:
        return f"{n['replicas']} ({n_slots}) must be at least the number of {n['experts']} ({n_experts})"
    if n_slots % n_gpus:
        return f"{n['replicas']} ({n_slots}) must be a multiple of {n['gpus']} ({n_gpus})"
    grouped = policy in ("hierarchical", "locality") or (policy == "eplb" and n_groups % n_nodes == 0)
    if not grouped:
        return None
    if n_groups % n_nodes:
        return (
            f"{n['groups']} ({n_groups}) must be divisible by {n['nodes']} ({n_nodes}) for the {policy} "
            "policy; the eplb policy falls back to global placement in that case, as EPLB does"
        )
    if n_experts % n_groups:
        return f"{n['experts']} ({n_experts}) must be divisible by {n['groups']} ({n_groups})"
    if n_gpus % n_nodes:
        return f"{n['gpus']} ({n_gpus}) must be a multiple of {n['nodes']} ({n_nodes})"
    return None


def as_load_matrix(weight: ArrayLike) -> NDArray[np.float64]:
    """Per-layer expert loads as a (layers, experts) float array; rejects negative or non-finite loads."""
    loads = np.asarray(weight, dtype=np.float64)
    if loads.ndim == 1:
        loads = loads[None, :]
    if loads.ndim != 2 or loads.size == 0:
        raise ValueError(f"loads must be a non-empty (layers, experts) array, got shape {loads.shape}")
    if not np.isfinite(loads).all() or (loads < 0).any() or (loads > FLOAT32_MAX).any():
        raise ValueError(f"loads must be finite, non-negative and at most {FLOAT32_MAX:.3g} (float32)")
    return loads


def hierarchical(
    weight: NDArray[np.float64], n_slots: int, n_groups: int, n_nodes: int, n_gpus: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """EPLB hierarchical balancing; returns phy2log and the replica number of each slot (layers, slots)."""
    n_layers, n_experts = weight.shape
    load = weight.astype(np.float32)  # EPLB's precision
    group_size = n_experts // n_groups
    groups_per_node = n_groups // n_nodes
    experts_per_node = n_experts // n_nodes
    slots_per_node = n_slots // n_nodes
    slots_per_gpu = n_slots // n_gpus

    # 1. groups to nodes. Relabel experts node-major ("node-local ids") so each node owns a contiguous range.
    group_load = load.reshape(n_layers, n_groups, group_size).sum(axis=2, dtype=np.float32)
    group_node, group_rank = balanced_pack(group_load, n_nodes)
    group_base = (group_node * groups_per_node + group_rank) * group_size
    log2local = (group_base[:, :, None] + np.arange(group_size)).reshape(n_layers, n_experts)
    local2log = invert(log2local)

    # 2. replicate inside each node: one row per (layer, node).
    node_load = np.take_along_axis(load, local2log, axis=1).reshape(-1, experts_per_node)
    slot2local, slot_rank, local_count = replicate(node_load, slots_per_node)

    # 3. pack each node's replicas onto its GPUs, a replica weighing its expert's load / its replica count.
    replica_load = np.take_along_axis(node_load / local_count.astype(np.float32), slot2local, axis=1)
    gpu, rank = balanced_pack(replica_load, n_gpus // n_nodes)
    position2slot = invert(gpu * slots_per_gpu + rank)
    position2local = np.take_along_axis(slot2local, position2slot, axis=1).reshape(n_layers, n_nodes, -1)
    position2local += (np.arange(n_nodes) * experts_per_node)[None, :, None]
    phy2log = np.take_along_axis(local2log, position2local.reshape(n_layers, n_slots), axis=1)
    phy_rank = np.take_along_axis(slot_rank, position2slot, axis=1).reshape(n_layers, n_slots)
    return phy2log, phy_rank


def ranks_in_slot_order(phy2log: NDArray[np.int64]) -> NDArray[np.int64]:
    """Replica number of each slot when an expert's replicas are numbered in slot order."""
    n_layers, n_slots = phy2log.shape
    by_expert = np.argsort(phy2log, axis=1, kind="stable")
    sorted_experts = np.take_along_axis(phy2log, by_expert, axis=1)
    position = np.broadcast_to(np.arange(n_slots), (n_layers, n_slots))
    starts = np.where(np.diff(sorted_experts, axis=1, prepend=-1) != 0, position, 0)
    rank_sorted = position - np.maximum.accumulate(starts, axis=1)
    rank = np.empty_like(rank_sorted)
    np.put_along_axis(rank, by_expert, rank_sorted, axis=1)
    return rank


def from_phy2log(
    phy2log: NDArray[np.int64],
    weight: NDArray[np.float64],
    n_gpus: int,
    n_nodes: int,
    phy_rank: NDArray[np.int64] | None = None,
) -> Placement:
    """Build a Placement (replica table, counts, GPU loads) from a slot table.

    phy_rank: replica number of each slot (EPLB numbers an expert's copies in the order they were made);
    None numbers them in slot order.
    """
    n_layers, n_experts = weight.shape
    layer_offset = (np.arange(n_layers) * n_experts)[:, None]
    logcnt = np.bincount((phy2log + layer_offset).ravel(), minlength=n_layers * n_experts)
    logcnt = logcnt.reshape(n_layers, n_experts)
    if phy_rank is None:
        phy_rank = ranks_in_slot_order(phy2log)
    log2phy = np.full((n_layers, n_experts, int(logcnt.max())), -1, dtype=np.int64)
    layer = np.broadcast_to(np.arange(n_layers)[:, None], phy2log.shape)
    log2phy[layer, phy2log, phy_rank] = np.arange(phy2log.shape[1])
    replica_load = np.take_along_axis(weight / logcnt, phy2log, axis=1)
    gpu_load = replica_load.reshape(n_layers, n_gpus, -1).sum(axis=2)
    return Placement(phy2log=phy2log, log2phy=log2phy, logcnt=logcnt, gpu_load=gpu_load, n_nodes=n_nodes)


def place(
    weight: ArrayLike,
    *,
    n_slots: int,
    n_groups: int,
    n_nodes: int,
    n_gpus: int,
    policy: Policy = "eplb",
    locality: float = 1.0,
) -> Placement:
    """Place replicated experts on GPUs.

    weight: (layers, experts) or (experts,) load per logical expert (tokens routed in a recent window).
    n_slots: physical expert slots in total (logical experts + redundant replicas).
    locality: only for policy="locality", the share of spare slots spent on per-node copies (0..1).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown placement policy {policy!r}; allowed: {', '.join(POLICIES)}")
    loads = as_load_matrix(weight)
    problem = describe_shape_problem(loads.shape[1], n_slots, n_groups, n_nodes, n_gpus, policy)
    if problem:
        raise ValueError(problem)
    if policy == "eplb":
        policy = "hierarchical" if n_groups % n_nodes == 0 else "global"
    phy_rank = None
    if policy == "hierarchical":
        phy2log, phy_rank = hierarchical(loads, n_slots, n_groups, n_nodes, n_gpus)
    elif policy == "global":
        phy2log, phy_rank = hierarchical(loads, n_slots, 1, 1, n_gpus)
    else:
        from gigawatt.moe.locality import locality_aware  # locality builds on this module

        phy2log = locality_aware(loads, n_slots, n_groups, n_nodes, n_gpus, locality)
    return from_phy2log(phy2log, loads, n_gpus, n_nodes, phy_rank)
