"""Dynamic top-p routing ("Harder Tasks Need More Experts", arXiv 2403.07652)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.chunks import for_chunks
from gigawatt.moe.router import Choice, Router, scored_rows
from gigawatt.moe.scoring import activate
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


@dataclass(kw_only=True)
class TopPRouter(Router):
    """Each token takes the smallest set of its most probable experts whose probabilities sum to at least
    `p`, capped at `k` experts. Needs probabilities: score "softmax" (or "identity" on given probabilities).
    """

    name = "top_p"
    p: float = 0.4

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.p <= 1.0:
            raise ValueError(f"p must be within (0, 1], got {self.p}")
        if self.score == "sigmoid":
            raise ValueError("top_p needs probabilities that sum to 1: use score 'softmax' or 'identity'")

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        n_tokens, n_experts = logits.shape
        k = min(self.k, n_experts)
        experts = np.empty((n_tokens, k), dtype=np.int32)

        def select(rows: slice) -> None:
            index, top = top_k(activate(logits[rows], self.score), k)
            covered_before = np.cumsum(top, axis=1) - top  # probability mass of the better experts
            experts[rows] = np.where(covered_before < self.p, index, -1)

        for_chunks(n_tokens, select, self.workers)
        return Choice(experts, logits, scored_rows(logits, self.score))
