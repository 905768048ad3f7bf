"""Expert-choice routing (Zhou et al. 2022, arXiv 2202.09368)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.occurrence import occurrence_rank
from gigawatt.moe.router import Choice, Router, rows_of
from gigawatt.moe.scoring import activate
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


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
        scores = activate(logits, self.score)
        n_tokens, n_experts = scores.shape
        per_expert = self.tokens_per_expert(n_tokens, n_experts)
        if per_expert == 0:
            return Choice(np.full((n_tokens, 1), -1, dtype=np.int32), logits, rows_of(scores))
        tokens, picked = top_k(np.ascontiguousarray(scores.T), per_expert, workers=self.workers)
        experts = np.repeat(np.arange(n_experts, dtype=np.int32), per_expert)
        valid = tokens.ravel() >= 0  # -inf scores are never picked
        tokens, picked, experts = tokens.ravel()[valid], picked.ravel()[valid], experts[valid]
        # Lay each token's experts out best first.
        order = np.lexsort((-picked, tokens))
        tokens, experts = tokens[order], experts[order]
        slot = occurrence_rank(tokens)
        table = np.full((n_tokens, int(slot.max(initial=0)) + 1), -1, dtype=np.int32)
        table[tokens, slot] = experts
        return Choice(table, logits, rows_of(scores))
