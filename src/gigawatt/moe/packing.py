"""The two building blocks of EPLB placement: replicate hot experts, pack items into equal-size packs.

Both work on a batch of rows (layers, or layer × node) at once, looping only over experts or slots, never
over tokens. They follow deepseek-ai/EPLB (eplb.py at commit d52c72d) step for step, written here from its
published behaviour:

* arithmetic in float32: EPLB converts the loads to float32 first, so loads/replica and pack sums are
  float32 values and near-ties resolve as they do there;
* ties: the highest load per replica goes to the lowest expert index (first maximum), a pack tie to the
  lowest pack index (first minimum), and items of equal weight are packed lowest index first. EPLB sorts
  with torch's unstable CPU sort; for up to 16 items that is an insertion sort (stable, so the same order),
  beyond that the order of equal weights is whatever the torch build gives and cannot be matched in
  general — it never changes pack loads, only which of two equal items sits where;
* one item per pack: EPLB keeps item i in pack i (no sort), not the heaviest item in pack 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def replicate(
    weight: NDArray[np.floating], n_slots: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Fill `n_slots` slots: one per expert, then extra replicas for the hottest experts.

    weight: (rows, experts) load of each logical expert.
    Returns slot2expert (rows, n_slots) — slot i < experts holds expert i, later slots hold the extra
    replicas in the order they were granted —, slot_rank (rows, n_slots), the replica number of each slot
    (0 for an expert's first copy), and count (rows, experts) replicas per expert.
    """
    n_rows, n_experts = weight.shape
    if n_slots < n_experts:
        raise ValueError(f"need at least one slot per expert: {n_slots} slots < {n_experts} experts")
    count = np.ones((n_rows, n_experts), dtype=np.int64)
    extra, extra_rank = add_replicas(weight, count, n_slots - n_experts)
    slot2expert = np.concatenate([np.broadcast_to(np.arange(n_experts), (n_rows, n_experts)), extra], axis=1)
    slot_rank = np.concatenate([np.zeros((n_rows, n_experts), dtype=np.int64), extra_rank], axis=1)
    return slot2expert, slot_rank, count


def add_replicas(
    weight: NDArray[np.floating], count: NDArray[np.int64], n_extra: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Grant `n_extra` replicas one at a time to the expert with the highest float32 load per replica.

    Updates `count` (rows, experts) in place; returns the expert of each granted replica and its replica
    number (both (rows, n_extra)). Ties go to the lowest expert index.
    """
    load = weight.astype(np.float32)
    rows = np.arange(weight.shape[0])
    granted = np.empty((weight.shape[0], n_extra), dtype=np.int64)
    rank = np.empty_like(granted)
    for i in range(n_extra):
        hottest = np.argmax(load / count.astype(np.float32), axis=1)
        granted[:, i] = hottest
        rank[:, i] = count[rows, hottest]
        count[rows, hottest] += 1
    return granted, rank


def balanced_pack(weight: NDArray[np.floating], n_packs: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pack items into `n_packs` packs holding the same number of items, keeping pack weights even.

    Items are taken heaviest first (ties: lower item index first) and each goes to the lightest pack that
    still has room (ties: lower pack index); pack weights add up in float32. With one item per pack, item i
    goes to pack i. weight: (rows, items).
    Returns pack (rows, items) and rank (rows, items), the item's position inside its pack.
    """
    n_rows, n_items = weight.shape
    if n_items % n_packs:
        raise ValueError(f"{n_items} items do not split evenly into {n_packs} packs")
    per_pack = n_items // n_packs
    if per_pack == 1:
        return (
            np.broadcast_to(np.arange(n_items), (n_rows, n_items)).copy(),
            np.zeros((n_rows, n_items), dtype=np.int64),
        )
    load = weight.astype(np.float32)
    rows = np.arange(n_rows)
    pack = np.empty((n_rows, n_items), dtype=np.int64)
    rank = np.empty((n_rows, n_items), dtype=np.int64)
    pack_weight = np.zeros((n_rows, n_packs), dtype=np.float32)
    pack_count = np.zeros((n_rows, n_packs), dtype=np.int64)
    heaviest_first = np.argsort(-load, axis=1, kind="stable")
    for position in range(n_items):
        item = heaviest_first[:, position]
        room_weight = np.where(pack_count < per_pack, pack_weight, np.float32(np.inf))
        chosen = np.argmin(room_weight, axis=1)
        pack[rows, item] = chosen
        rank[rows, item] = pack_count[rows, chosen]
        pack_weight[rows, chosen] += load[rows, item]
        pack_count[rows, chosen] += 1
    return pack, rank


def invert(permutation: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row-wise inverse of a batch of permutations."""
    inverse = np.empty_like(permutation)
    np.put_along_axis(inverse, permutation, np.arange(permutation.shape[1]), axis=1)
    return inverse
