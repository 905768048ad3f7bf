"""Group- (node-) limited routing (DeepSeek-V3, arXiv 2412.19437 §2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.router import Choice, Router, rows_of
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
        allowed = self._allowed_scores(self._selection_scores(logits))
        experts, _ = top_k(allowed, self.k, workers=self.workers)
        return Choice(experts, logits, rows_of(allowed))

    def _selection_scores(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        return activate(logits, self.score)

    def _allowed_scores(self, scores: NDArray[np.float32]) -> NDArray[np.float32]:
        """Scores with every expert outside the token's kept groups set to -inf."""
        n_tokens, n_experts = scores.shape
        if n_experts % self.n_groups:
            raise ValueError(f"{n_experts} experts do not split into {self.n_groups} equal groups")
        group_size = n_experts // self.n_groups
        if self.k > self.topk_groups * group_size:
            raise ValueError(
                f"k={self.k} exceeds the {self.topk_groups * group_size} experts in the kept groups"
            )
        if self.topk_groups == self.n_groups:
            return scores
        grouped = scores.reshape(n_tokens, self.n_groups, group_size)
        kept, _ = top_k(_sum_of_top_two(grouped), self.topk_groups)
        keep = np.zeros((n_tokens, self.n_groups), dtype=bool)
        np.put_along_axis(keep, kept.astype(np.intp), True, axis=1)
        return np.where(np.repeat(keep, group_size, axis=1), scores, np.float32(-np.inf))


def _sum_of_top_two(grouped: NDArray[np.float32]) -> NDArray[np.float32]:
    """Sum of the two largest scores of each group (the best one alone for groups of one)."""
    best = grouped.max(axis=2)
    if grouped.shape[2] == 1:
        return best
    is_best = grouped == best[:, :, None]
    # A tied best counts twice; otherwise the runner-up is the best of the rest.
    runner_up = np.where(is_best, -np.inf, grouped).max(axis=2)
    runner_up = np.where(is_best.sum(axis=2) > 1, best, runner_up)
    return (best + runner_up).astype(np.float32)
