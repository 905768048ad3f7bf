"""The two building blocks of EPLB-style placement: replicate hot experts, pack items into equal-size packs.

Both work on a batch of layers at once (rows), looping only over experts or slots, never over tokens.
Described in the deepseek-ai/EPLB README; written here from that description.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def replicate(weight: NDArray[np.float64], n_slots: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Fill `n_slots` slots: one per expert, then extra replicas for the hottest experts.

    weight: (layers, experts) load of each logical expert.
    Returns slot2expert (layers, n_slots) — slot i < experts holds expert i, later slots hold the extra
    replicas in the order they were granted — and count (layers, experts) replicas per expert.
    """
    n_layers, n_experts = weight.shape
    if n_slots < n_experts:
        raise ValueError(f"need at least one slot per expert: {n_slots} slots < {n_experts} experts")
    count = np.ones((n_layers, n_experts), dtype=np.int64)
    extra = add_replicas(weight, count, n_slots - n_experts)
    slot2expert = np.concatenate(
        [np.broadcast_to(np.arange(n_experts), (n_layers, n_experts)), extra], axis=1
    )
    return slot2expert, count


def add_replicas(weight: NDArray[np.float64], count: NDArray[np.int64], n_extra: int) -> NDArray[np.int64]:
    """Grant `n_extra` replicas one at a time to the expert with the highest load per replica.

    Updates `count` (layers, experts) in place; returns the expert of each granted replica (layers, n_extra).
    Ties go to the lowest expert index.
    """
    rows = np.arange(weight.shape[0])
    granted = np.empty((weight.shape[0], n_extra), dtype=np.int64)
    for i in range(n_extra):
        hottest = np.argmax(weight / count, axis=1)
        granted[:, i] = hottest
        count[rows, hottest] += 1
    return granted


def balanced_pack(weight: NDArray[np.float64], n_packs: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pack items into `n_packs` packs holding the same number of items, keeping pack weights even.

    Items are taken heaviest first (ties: lower item index first) and each goes to the lightest pack that
    still has room (ties: lower pack index). weight: (layers, items).
    Returns pack (layers, items) and rank (layers, items), the item's position inside its pack.
    """
    n_layers, n_items = weight.shape
    if n_items % n_packs:
        raise ValueError(f"{n_items} items do not split evenly into {n_packs} packs")
    per_pack = n_items // n_packs
    rows = np.arange(n_layers)
    pack = np.empty((n_layers, n_items), dtype=np.int64)
    rank = np.empty((n_layers, n_items), dtype=np.int64)
    pack_weight = np.zeros((n_layers, n_packs))
    pack_count = np.zeros((n_layers, n_packs), dtype=np.int64)
    heaviest_first = np.argsort(-weight, axis=1, kind="stable")
    for position in range(n_items):
        item = heaviest_first[:, position]
        room_weight = np.where(pack_count < per_pack, pack_weight, np.inf)
        chosen = np.argmin(room_weight, axis=1)
        pack[rows, item] = chosen
        rank[rows, item] = pack_count[rows, chosen]
        pack_weight[rows, chosen] += weight[rows, item]
        pack_count[rows, chosen] += 1
    return pack, rank


def invert(permutation: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row-wise inverse of a batch of permutations."""
    inverse = np.empty_like(permutation)
    np.put_along_axis(inverse, permutation, np.arange(permutation.shape[1]), axis=1)
    return inverse
