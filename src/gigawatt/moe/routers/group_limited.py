"""Group- (node-) limited routing (DeepSeek-V3, arXiv 2412.19437 §2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.chunks import for_chunks
from gigawatt.moe.router import Choice, Router
from gigawatt.moe.scoring import ScoreFn, activate
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


@dataclass(kw_only=True)
class GroupLimitedRouter(Router):
    """Experts are split into `n_groups` equal groups (one per node). A group scores the sum of its two best
    expert scores; each token keeps its `topk_groups` best groups and picks its top-K experts inside them.
    Substitutes on the backup path also come from those groups only.
    """

    name = "group_limited"
    score: ScoreFn = "sigmoid"
    n_groups: int = 8
    topk_groups: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.topk_groups <= self.n_groups:
            raise ValueError(f"need 1 <= topk_groups <= n_groups, got {self.topk_groups} of {self.n_groups}")

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        self._check_groups(logits.shape[1])
        experts = np.empty((logits.shape[0], self.k), dtype=np.int32)

        def select(rows: slice) -> None:
            experts[rows] = top_k(self._allowed_rows(logits[rows]), self.k)[0]

        for_chunks(len(experts), select, self.workers)
        return Choice(experts, logits, lambda rows: self._allowed_rows(logits[rows]))

    def _allowed_rows(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        return self._allowed_scores(self._selection_scores(logits))

    def _selection_scores(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        return activate(logits, self.score)

    def _check_groups(self, n_experts: int) -> None:
        if n_experts % self.n_groups:
            raise ValueError(f"{n_experts} experts do not split into {self.n_groups} equal groups")
        kept_experts = self.topk_groups * (n_experts // self.n_groups)
        if self.k > kept_experts:
            raise ValueError(f"k={self.k} exceeds the {kept_experts} experts in the kept groups")

    def _allowed_scores(self, scores: NDArray[np.float32]) -> NDArray[np.float32]:
        """Scores with every expert outside the token's kept groups set to -inf."""
        n_tokens, n_experts = scores.shape
        if self.topk_groups == self.n_groups:
            return scores
        grouped = scores.reshape(n_tokens, self.n_groups, n_experts // self.n_groups)
        kept, _ = top_k(_sum_of_top_two(grouped), self.topk_groups)
        # A group top_k could not fill (-1: fewer groups with a finite top-two sum) keeps nothing: it marks
        # a spare column, dropped after, rather than the last group as a -1 index would.
        spare = np.where(kept < 0, self.n_groups, kept).astype(np.intp)
        keep = np.zeros((n_tokens, self.n_groups + 1), dtype=bool)
        np.put_along_axis(keep, spare, True, axis=1)
        return np.where(keep[:, :-1, None], grouped, np.float32(-np.inf)).reshape(n_tokens, n_experts)


def _sum_of_top_two(grouped: NDArray[np.float32]) -> NDArray[np.float32]:
    """Sum of the two largest scores of each group, a tied best counting twice (the best one alone for
    groups of one).

    One partition of each group puts its largest value last and the next largest before it (ties included):
    a SIMD selection, where max-reductions along the short group axis run slowly in NumPy.
    """
    n_tokens, n_groups, size = grouped.shape
    if size == 1:
        return grouped[:, :, 0].copy()
    ordered = np.partition(grouped.reshape(-1, size), size - 2, axis=1)
    return (ordered[:, -1] + ordered[:, -2]).reshape(n_tokens, n_groups)
