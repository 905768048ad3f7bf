"""Locality-aware placement: spend spare slots on per-node copies of hot experts to cut cross-node traffic.

Traffic model: tokens arrive evenly from every node, and a token is served on its own node when its expert
has a replica there, otherwise it crosses the network. Under hierarchical placement every expert lives on
one node, so a share (N-1)/N of all traffic crosses nodes.

The knob `locality` in [0, 1]: the hottest `h = floor(locality * spare_per_node)` experts of a layer get a
copy on every node (the copy on the home node is the regular one), which keeps their traffic local. Those
copies use spare slots that would otherwise go to the experts with the highest load per replica, so compared
with the global policy balance gets worse as locality rises (tested). Compared with hierarchical placement it
can even improve, because per-node copies also move a hot expert's load off its home node. locality=0 is
exactly the hierarchical policy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.packing import add_replicas, balanced_pack, invert
from gigawatt.moe.placement import Placement


def locality_aware(
    weight: NDArray[np.float64], n_slots: int, n_groups: int, n_nodes: int, n_gpus: int, locality: float
) -> NDArray[np.int64]:
    """Returns phy2log (layers, slots); sizes as in `placement.hierarchical`."""
    if not 0.0 <= locality <= 1.0:
        raise ValueError(f"locality must be within [0, 1], got {locality}")
    n_layers, n_experts = weight.shape
    group_size = n_experts // n_groups
    experts_per_node = n_experts // n_nodes
    slots_per_node = n_slots // n_nodes
    gpus_per_node = n_gpus // n_nodes
    spare_per_node = slots_per_node - experts_per_node
    n_hot = int(locality * spare_per_node) if n_nodes > 1 else 0

    group_load = weight.reshape(n_layers, n_groups, group_size).sum(axis=2)
    group_node, group_rank = balanced_pack(group_load, n_nodes)
    phy2log = np.empty((n_layers, n_slots), dtype=np.int64)
    for layer in range(n_layers):
        w = weight[layer].astype(np.float32)  # the precision of the hierarchical policy it extends
        # Experts of each node in the same node-local order as the hierarchical policy.
        group_order = np.lexsort((group_rank[layer], group_node[layer]))
        home = (group_order[:, None] * group_size + np.arange(group_size)).reshape(n_nodes, experts_per_node)
        home_node = np.repeat(group_node[layer], group_size)
        hot = np.argsort(-w, kind="stable")[:n_hot]
        count = np.ones(n_experts, dtype=np.int64)
        count[hot] += n_nodes - 1

        visitors = [hot[home_node[hot] != node] for node in range(n_nodes)]
        extras = []
        for node in range(n_nodes):
            node_count = count[home[node]][None, :]
            n_extra = spare_per_node - len(visitors[node])
            granted, _ = add_replicas(w[home[node]][None, :], node_count, n_extra)
            count[home[node]] = node_count[0]
            extras.append(home[node][granted[0]])

        for node in range(n_nodes):
            items = np.concatenate([home[node], extras[node], visitors[node]])
            gpu, rank = balanced_pack((w[items] / count[items])[None, :], gpus_per_node)
            position2item = invert(gpu * (slots_per_node // gpus_per_node) + rank)[0]
            phy2log[layer, node * slots_per_node : (node + 1) * slots_per_node] = items[position2item]
    return phy2log


def cross_node_fraction(placement: Placement, weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per layer: share of the load that crosses nodes under the even-arrival traffic model above."""
    n_layers, n_experts = weight.shape
    if placement.n_gpus % placement.n_nodes:
        raise ValueError(
            f"gpus ({placement.n_gpus}) do not split evenly over nodes ({placement.n_nodes}): no node layout"
        )
    slot_node = placement.slot_gpu() // (placement.n_gpus // placement.n_nodes)
    present = np.zeros((n_layers, n_experts, placement.n_nodes), dtype=bool)
    layer_index = np.repeat(np.arange(n_layers), placement.phy2log.shape[1])
    present[layer_index, placement.phy2log.ravel(), np.tile(slot_node, n_layers)] = True
    local_share = present.sum(axis=2) / placement.n_nodes
    total = weight.sum(axis=1)
    crossing = (weight * (1.0 - local_share)).sum(axis=1)
    return np.divide(crossing, total, out=np.zeros_like(total), where=total > 0)
