"""The result of routing one batch, and its monitoring counters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.rowwise import row_count


@dataclass(frozen=True)
class RoutingStats:
    """Per-batch counters. Counts of assignments are (token, expert) pairs.

    expert_load: (experts,) tokens routed to each routed expert.
    shared_load: (n_shared,) tokens through each always-on shared expert (every token).
    gpu_load: (gpus,) assignments served by each GPU; None without an expert → GPU map.
    overflow: assignments that found their expert full (capacity routing).
    dropped: assignments sent to the residual path instead (capacity, or no live GPU for the expert).
    rerouted: assignments served elsewhere than planned: another replica or the next-best expert.
    k_hist: (k_max + 1,) tokens that got 0, 1, …, k_max routed experts.
    balancedness: mean / max load per GPU (per expert without a GPU map); 1.0 is perfect balance.
    """

    expert_load: NDArray[np.int64]
    shared_load: NDArray[np.int64]
    gpu_load: NDArray[np.int64] | None
    overflow: int
    dropped: int
    rerouted: int
    k_hist: NDArray[np.int64]
    balancedness: float

    @property
    def n_tokens(self) -> int:
        return int(self.k_hist.sum())

    @property
    def mean_k(self) -> float:
        return float(np.arange(self.k_hist.size) @ self.k_hist) / max(self.n_tokens, 1)


@dataclass(frozen=True)
class Routing:
    """Which experts serve each token.

    experts: (tokens, k_max) expert ids, best first, -1 for an empty slot.
    weights: (tokens, k_max) gate weights, 0 in empty slots.
    gpus: (tokens, k_max) GPU serving each slot (-1 empty); None without an expert → GPU map.
    """

    experts: NDArray[np.int32]
    weights: NDArray[np.float32]
    gpus: NDArray[np.int32] | None
    stats: RoutingStats

    @property
    def k_per_token(self) -> NDArray[np.int64]:
        return (self.experts >= 0).sum(axis=1)


def routing_stats(
    experts: NDArray[np.int32],
    gpus: NDArray[np.int32] | None,
    *,
    n_experts: int,
    n_gpus: int | None,
    n_shared: int,
    overflow: int = 0,
    dropped: int = 0,
    rerouted: int = 0,
) -> RoutingStats:
    """Counters of one routed batch."""
    counts = Counts.of(experts, gpus, n_experts, n_gpus)
    return counts.stats(experts.shape[0], n_shared, overflow=overflow, dropped=dropped, rerouted=rerouted)


@dataclass(frozen=True)
class Counts:
    """The additive part of the counters: counts of a chunk of tokens add up to those of the batch."""

    expert_load: NDArray[np.int64]
    gpu_load: NDArray[np.int64] | None
    k_hist: NDArray[np.int64]

    @classmethod
    def of(
        cls, experts: NDArray[np.int32], gpus: NDArray[np.int32] | None, n_experts: int, n_gpus: int | None
    ) -> Counts:
        # Shift by one so the -1 "empty" slots land in bin 0 and need no masking pass.
        expert_load = np.bincount(experts.ravel() + 1, minlength=n_experts + 1)[1:]
        gpu_load = None
        if gpus is not None and n_gpus is not None:
            gpu_load = np.bincount(gpus.ravel() + 1, minlength=n_gpus + 1)[1:]
        k_hist = np.bincount(row_count(experts >= 0), minlength=experts.shape[1] + 1)
        return cls(expert_load, gpu_load, k_hist)

    def __add__(self, other: Counts) -> Counts:
        gpu_load = None if self.gpu_load is None or other.gpu_load is None else self.gpu_load + other.gpu_load
        return Counts(self.expert_load + other.expert_load, gpu_load, self.k_hist + other.k_hist)

    def stats(
        self, n_tokens: int, n_shared: int, *, overflow: int = 0, dropped: int = 0, rerouted: int = 0
    ) -> RoutingStats:
        per_unit = self.expert_load if self.gpu_load is None else self.gpu_load
        peak = per_unit.max(initial=0)
        return RoutingStats(
            expert_load=self.expert_load,
            shared_load=np.full(n_shared, n_tokens, dtype=np.int64),
            gpu_load=self.gpu_load,
            overflow=int(overflow),
            dropped=int(dropped),
            rerouted=int(rerouted),
            k_hist=self.k_hist,
            balancedness=float(per_unit.mean() / peak) if peak > 0 else 1.0,
        )
