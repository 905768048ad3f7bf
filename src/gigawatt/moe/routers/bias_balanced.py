"""Auxiliary-loss-free load balancing (DeepSeek-V3, arXiv 2412.19437 §2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.router import Choice
from gigawatt.moe.routers.group_limited import GroupLimitedRouter
from gigawatt.moe.routing import Routing
from gigawatt.moe.system import SystemView


@dataclass(kw_only=True)
class BiasBalancedRouter(GroupLimitedRouter):
    """A per-expert bias is added to the scores for choosing experts only; the gates use the unbiased scores.

    After each routed batch (when `update` is on) the bias of every overloaded expert (load above the mean)
    drops by `gamma` and that of every underloaded one rises by `gamma`, so load evens out over successive
    batches. Group limiting works as in GroupLimitedRouter (off by default: one group). `bias` holds the
    state; it starts at zero on the first batch unless given.
    """

    name = "bias_balanced"
    n_groups: int = 1
    topk_groups: int = 1
    gamma: float = 0.001
    update: bool = True
    bias: NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gamma < 0:
            raise ValueError(f"gamma must be non-negative, got {self.gamma}")
        if self.bias is not None:
            self.bias = np.array(self.bias, dtype=np.float32)

    def route(
        self,
        logits: ArrayLike,
        *,
        system: SystemView | None = None,
        rng: np.random.Generator | None = None,
    ) -> Routing:
        routing = super().route(logits, system=system, rng=rng)
        if self.update:
            load = routing.stats.expert_load
            assert self.bias is not None  # set by _select
            self.bias -= np.float32(self.gamma) * np.sign(load - load.mean()).astype(np.float32)
        return routing

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        # Set before the chunks run: they all read the same bias.
        if self.bias is None:
            self.bias = np.zeros(logits.shape[1], dtype=np.float32)
        if self.bias.shape != (logits.shape[1],):
            raise ValueError(f"bias has shape {self.bias.shape}, expected ({logits.shape[1]},)")
        return super()._select(logits, system, rng)

    def _selection_scores(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        assert self.bias is not None  # set by _select
        return super()._selection_scores(logits) + self.bias
