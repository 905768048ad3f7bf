"""The backup path: serve each routed slot on a usable GPU, never on a failed one.

A GPU is usable when it is alive, not throttled below `min_speed` and its queue is at most `max_queue`.
For each slot, in order of preference:
1. the planned replica of its expert, if that GPU is usable (replicas are taken in turn, token by token);
2. another usable replica of the same expert;
3. the token's next-best candidate expert that has a usable replica and is not already chosen;
4. an alive replica of the original expert, even if slow or busy (better late than dropped);
5. the residual path (slot emptied, counted as dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.rowwise import row_max
from gigawatt.moe.system import ExpertMap, GpuState
from gigawatt.moe.topk import top_k

# Given the rows (tokens) that need substitutes, the score of every expert for them; -inf = not allowed.
Candidates = Callable[[NDArray[np.intp]], NDArray[np.float32]]


@dataclass(frozen=True, kw_only=True)
class BackupPolicy:
    """When a GPU should be avoided. min_speed: relative speed below which it counts as throttled;
    max_queue: queued tokens above which it counts as overloaded."""

    min_speed: float = 0.5
    max_queue: float = float("inf")

    def __post_init__(self) -> None:
        if not 0.0 < self.min_speed <= 1.0:
            raise ValueError(f"min_speed must be within (0, 1], got {self.min_speed}")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be non-negative, got {self.max_queue}")

    def usable(self, gpus: GpuState) -> NDArray[np.bool_]:
        return gpus.alive & (gpus.speed >= self.min_speed) & (gpus.queue <= self.max_queue)


@dataclass(frozen=True)
class Served:
    experts: NDArray[np.int32]
    gpus: NDArray[np.int32]
    rerouted: int
    dropped: int


def serve(
    experts: NDArray[np.int32],
    candidates: Candidates,
    expert_map: ExpertMap,
    gpus: GpuState,
    policy: BackupPolicy,
    first_token: int = 0,
) -> Served:
    """Pick the GPU of every slot, moving slots off unusable GPUs (see module doc).

    experts: (tokens, k) chosen experts, -1 empty. first_token: index of the first token in the batch, so
    that chunks of one batch take replicas in turn exactly as the whole batch would.
    """
    return ServePlan.of(expert_map, gpus, policy).serve(experts, candidates, first_token)


@dataclass(frozen=True)
class ServePlan:
    """What `serve` derives from the expert map, the GPU state and the policy: computed once, reused by
    every chunk or wave of a batch."""

    table: NDArray[np.int32]
    usable_gpu: NDArray[np.bool_]
    expert_usable: NDArray[np.bool_]
    expert_alive: NDArray[np.bool_]
    n_present: NDArray[np.intp]
    ranked: NDArray[np.int32]
    n_best: NDArray[np.intp]

    @classmethod
    def of(cls, expert_map: ExpertMap, gpus: GpuState, policy: BackupPolicy) -> ServePlan:
        table = expert_map.replica_gpu
        present = table >= 0
        safe_table = np.where(present, table, 0)
        usable_gpu = policy.usable(gpus)
        usable_replica = present & usable_gpu[safe_table]
        alive_replica = present & gpus.alive[safe_table]
        expert_usable = usable_replica.any(axis=1)
        # Usable replicas first, then alive ones; a slot takes its turn among the best class available.
        preference = np.where(usable_replica, 0, np.where(alive_replica, 1, 2))
        ranked = np.take_along_axis(table, np.argsort(preference, axis=1, kind="stable"), axis=1)
        n_best = np.where(expert_usable, usable_replica.sum(axis=1), alive_replica.sum(axis=1))
        return cls(
            table=table,
            usable_gpu=usable_gpu,
            expert_usable=expert_usable,
            expert_alive=alive_replica.any(axis=1),
            n_present=present.sum(axis=1),
            ranked=ranked,
            n_best=np.maximum(n_best, 1),
        )

    def serve(self, experts: NDArray[np.int32], candidates: Candidates, first_token: int = 0) -> Served:
        table = self.table
        experts, substituted, dropped = _substitute_blocked(
            experts, candidates, self.expert_usable, self.expert_alive
        )
        chosen = experts >= 0
        expert = np.where(chosen, experts, 0)
        if table.shape[1] == 1:
            # One replica each: a slot that kept its expert stays on that expert's only (alive) GPU.
            gpu = np.where(chosen, table[expert, 0], -1).astype(np.int32)
            return Served(experts=experts, gpus=gpu, rerouted=int(substituted.sum()), dropped=dropped)
        turn = np.arange(first_token, first_token + experts.shape[0])[:, None] + np.arange(experts.shape[1])
        planned = table[expert, turn % self.n_present[expert]]
        fallback = self.ranked[expert, turn % self.n_best[expert]]
        gpu = np.where(self.usable_gpu[planned], planned, fallback)
        gpu = np.where(chosen, gpu, -1).astype(np.int32)
        rerouted = int((chosen & (substituted | (gpu != planned))).sum())
        return Served(experts=experts, gpus=gpu, rerouted=rerouted, dropped=dropped)


def _substitute_blocked(
    experts: NDArray[np.int32],
    candidates: Candidates,
    expert_usable: NDArray[np.bool_],
    expert_alive: NDArray[np.bool_],
) -> tuple[NDArray[np.int32], NDArray[np.bool_], int]:
    """Replace experts without a usable replica by the next-best candidates (steps 3-5)."""
    chosen = experts >= 0
    blocked = chosen & ~expert_usable[np.where(chosen, experts, 0)]
    substituted = np.zeros_like(blocked)
    if not blocked.any():
        return experts, substituted, 0
    rows = np.flatnonzero(row_max(blocked))
    experts = experts.copy()
    row_experts = experts[rows]
    row_blocked = blocked[rows]
    options = np.array(candidates(rows), dtype=np.float32)
    options[:, ~expert_usable] = -np.inf
    taken_row, taken_slot = np.nonzero(row_experts >= 0)
    options[taken_row, row_experts[taken_row, taken_slot]] = -np.inf
    spare, _ = top_k(options, int(row_blocked.sum(axis=1).max()))
    # The j-th blocked slot of a token takes the token's j-th best spare expert.
    nth_blocked = np.maximum(np.cumsum(row_blocked, axis=1) - 1, 0)
    replacement = np.take_along_axis(spare, nth_blocked, axis=1)
    stay = row_blocked & (replacement < 0) & expert_alive[np.where(row_experts >= 0, row_experts, 0)]
    moved = row_blocked & (replacement >= 0)
    gone = row_blocked & ~moved & ~stay
    experts[rows] = np.where(moved, replacement, np.where(gone, -1, row_experts))
    substituted[rows] = moved
    return experts, substituted, int(gone.sum())
