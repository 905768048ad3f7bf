"""Plain top-K routing (Mixtral, Switch for K=1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.router import Choice, Router, rows_of
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


@dataclass(kw_only=True)
class TopKRouter(Router):
    """The K experts with the highest scores.

    Softmax and sigmoid are monotonic, so experts are chosen on the raw logits (no exp over all experts).
    """

    name = "topk"

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        self._check_k(logits)
        experts, picked = top_k(logits, self.k, workers=self.workers)
        return Choice(experts, logits, rows_of(logits), picked)

    def _check_k(self, logits: NDArray[np.float32]) -> None:
        if self.k > logits.shape[1]:
            raise ValueError(f"{self.name}: k={self.k} exceeds the {logits.shape[1]} experts")
