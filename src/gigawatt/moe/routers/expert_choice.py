"""Expert-choice routing (Zhou et al. 2022, arXiv 2202.09368)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.chunks import for_chunks
from gigawatt.moe.router import Choice, Router, scored_rows
from gigawatt.moe.scoring import activate, softmax
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k

# Experts whose scores one thread reads out of the batch at a time: 16 float32 = one 64-byte cache line.
EXPERT_BLOCK = 16


@dataclass(kw_only=True)
class ExpertChoiceRouter(Router):
    """Every expert picks its C best tokens, C = min(tokens, ceil(capacity_factor × tokens × k / experts));
    `k` is thus the mean number of experts per token. A token may get any number of experts, including none;
    the result is as wide as the busiest token. As in the paper the gates are the token-to-expert scores
    (normalize=False by default).
    """

    name = "expert_choice"
    normalize: bool = False
    capacity_factor: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.capacity_factor <= 0:
            raise ValueError(f"capacity_factor must be positive, got {self.capacity_factor}")

    def tokens_per_expert(self, n_tokens: int, n_experts: int) -> int:
        return min(n_tokens, math.ceil(self.capacity_factor * n_tokens * self.k / n_experts))

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        n_tokens, n_experts = logits.shape
        per_expert = self.tokens_per_expert(n_tokens, n_experts)
        candidates = scored_rows(logits, self.score)
        if per_expert == 0:
            return Choice(np.full((n_tokens, 1), -1, dtype=np.int32), logits, candidates)
        # 1. Scores, by token chunks (with the softmax normaliser the gates need, from the same exp pass).
        scores = np.empty_like(logits)
        log_norm = np.empty((n_tokens, 1), dtype=np.float32) if self.score == "softmax" else None

        def score_rows(rows: slice) -> None:
            if log_norm is None:
                scores[rows] = activate(logits[rows], self.score)
            else:
                scores[rows], log_norm[rows] = softmax(logits[rows])

        for_chunks(n_tokens, score_rows, self.workers)
        # 2. Each expert picks its best tokens. This needs a whole column of the batch, so it cannot run by
        # token chunks: blocks of experts are read out column-wise (one cache line per token for 16 experts).
        selected = np.zeros((n_tokens, n_experts), dtype=bool)

        def pick_tokens(experts: slice) -> None:
            block = np.ascontiguousarray(scores[:, experts].T)
            for offset, column in enumerate(block):
                selected[_best(column, per_expert), experts.start + offset] = True

        for_chunks(n_experts, pick_tokens, self.workers, rows=EXPERT_BLOCK)
        # 3. Lay each token's experts out best first (ties: lower expert first), as wide as the busiest token.
        width = max(int(selected.sum(axis=1, dtype=np.int32).max(initial=0)), 1)
        table = np.empty((n_tokens, width), dtype=np.int32)

        def lay_out(rows: slice) -> None:
            table[rows] = top_k(np.where(selected[rows], scores[rows], np.float32(-np.inf)), width)[0]

        for_chunks(n_tokens, lay_out, self.workers)
        return Choice(table, logits, candidates, log_norm=log_norm)


def _best(values: NDArray[np.float32], count: int) -> NDArray[np.intp]:
    """Positions of the `count` largest values (ties: lower position first); -inf is never chosen."""
    if np.isnan(values).any():
        raise ValueError("router scores contain NaN")
    threshold = np.partition(values, values.size - count)[values.size - count]
    above = values > threshold
    tied = values == threshold
    room = count - int(above.sum())
    if threshold == -np.inf:
        return np.flatnonzero(above)
    if int(tied.sum()) > room:
        tied &= np.cumsum(tied) <= room
    return np.flatnonzero(above | tied)
