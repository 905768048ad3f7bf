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
        keep = np.zeros((n_tokens, self.n_groups), dtype=bool)
        np.put_along_axis(keep, kept.astype(np.intp), True, axis=1)
        return np.where(keep[:, :, None], grouped, np.float32(-np.inf)).reshape(n_tokens, n_experts)


def _sum_of_top_two(grouped: NDArray[np.float32]) -> NDArray[np.float32]:
    """Sum of the two largest scores of each group, a tied best counting twice (the best one alone for
    groups of one).

    A knock-out over halves of the group, keeping each side's best two: a few whole-array max/min passes
    instead of reductions along the short group axis, which NumPy runs slowly. Max and min are exact, so the
    pair is exactly the two largest values.
    """
    if grouped.shape[2] == 1:
        return grouped[:, :, 0].copy()
    best, second = _best_two(grouped)
    return best + second


def _best_two(grouped: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    width = grouped.shape[2]
    half = width // 2
    best = np.maximum(grouped[:, :, :half], grouped[:, :, half : 2 * half])
    second = np.minimum(grouped[:, :, :half], grouped[:, :, half : 2 * half])
    if width % 2:  # the odd one out joins as a best with no runner-up
        best = np.concatenate([best, grouped[:, :, -1:]], axis=2)
        second = np.concatenate([second, np.full_like(grouped[:, :, -1:], -np.inf)], axis=2)
    while best.shape[2] > 1:
        width = best.shape[2]
        half = width // 2
        b1, b2 = best[:, :, :half], best[:, :, half : 2 * half]
        s1, s2 = second[:, :, :half], second[:, :, half : 2 * half]
        merged_best = np.maximum(b1, b2)
        merged_second = np.maximum(np.minimum(b1, b2), np.maximum(s1, s2))
        if width % 2:
            merged_best = np.concatenate([merged_best, best[:, :, -1:]], axis=2)
            merged_second = np.concatenate([merged_second, second[:, :, -1:]], axis=2)
        best, second = merged_best, merged_second
    return best[:, :, 0], second[:, :, 0]
