"""Adaptive K: fewer experts per token when the system is busy, more when it is idle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.router import Choice, rows_of
from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


def adaptive_k(load: float, k_min: int, k_max: int) -> int:
    """K falls linearly from k_max at load 0 to k_min at load 1 (load clipped to [0, 1]), rounded half up."""
    share = min(max(load, 0.0), 1.0)
    return k_max - int(np.floor(share * (k_max - k_min) + 0.5))


def system_load(system: SystemView | None, queue_full: float | None) -> float:
    """The load adaptive K reacts to: `system.load` when given, else the mean GPU queue over `queue_full`
    (the queue depth that counts as fully loaded), else 0."""
    if system is None:
        return 0.0
    if system.load is not None:
        return system.load
    if system.gpus is not None and queue_full:
        return min(float(system.gpus.queue.mean()) / queue_full, 1.0)
    return 0.0


def check_k_bounds(k_min: int, k_max: int, queue_full: float | None) -> None:
    if not 1 <= k_min <= k_max:
        raise ValueError(f"need 1 <= k_min <= k, got k_min={k_min}, k={k_max}")
    if queue_full is not None and queue_full <= 0:
        raise ValueError(f"queue_full must be positive, got {queue_full}")


@dataclass(kw_only=True)
class AdaptiveKRouter(TopKRouter):
    """Top-K with K in [k_min, k] set per batch by the system load (see `adaptive_k`); the result keeps k
    columns, the unused ones empty."""

    name = "adaptive_k"
    k_min: int = 2
    queue_full: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_k_bounds(self.k_min, self.k, self.queue_full)

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        self._check_k(logits)
        k_now = adaptive_k(system_load(system, self.queue_full), self.k_min, self.k)
        experts = np.full((logits.shape[0], self.k), -1, dtype=np.int32)
        experts[:, :k_now] = top_k(logits, k_now, workers=self.workers)[0]
        return Choice(experts, logits, rows_of(logits))
