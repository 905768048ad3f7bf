"""Expert-choice routing (Zhou et al. 2022, arXiv 2202.09368)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.chunks import CHUNK_ROWS, chunks, for_chunks
from gigawatt.moe.router import Choice, Router, scored_rows
from gigawatt.moe.scoring import activate, softmax
from gigawatt.moe.system import SystemView

# Experts whose scores one thread reads out of the batch at a time: 16 float32 = one 64-byte cache line.
EXPERT_BLOCK = 16
# Token (12 bits: CHUNK_ROWS), score (32) and expert share one int64 sort key.
MAX_EXPERT_BITS = 63 - 32 - (CHUNK_ROWS - 1).bit_length()


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
        if _bits(n_experts) > MAX_EXPERT_BITS:
            raise ValueError(f"expert_choice handles at most {2**MAX_EXPERT_BITS} experts, got {n_experts}")
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
        # 3. Lay each token's experts out best first (ties: lower expert first), as wide as the busiest token:
        # one sort per chunk of (token, score descending, expert) packed into int64 keys.
        parts = chunks(n_tokens)
        laid: list[tuple[NDArray[np.int64], ...]] = [()] * len(parts)
        expert_bits = _bits(n_experts)

        def lay_out(numbers: slice) -> None:
            for number in range(numbers.start, numbers.stop):
                rows = parts[number]
                token, expert = np.nonzero(selected[rows])
                keys = np.sort(_pack(token, scores[rows][token, expert], expert, expert_bits))
                token = keys >> np.int64(32 + expert_bits)
                counts = np.bincount(token, minlength=rows.stop - rows.start)
                slot = np.arange(keys.size) - np.repeat(np.cumsum(counts) - counts, counts)
                laid[number] = (token + rows.start, slot, keys & np.int64((1 << expert_bits) - 1))

        for_chunks(len(parts), lay_out, self.workers, rows=1)
        width = max([int(slot.max(initial=0)) + 1 for _, slot, _ in laid] + [1])
        table = np.full((n_tokens, width), -1, dtype=np.int32)
        for token, slot, expert in laid:
            table[token, slot] = expert
        return Choice(table, logits, candidates, log_norm=log_norm)


def _bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


def _pack(
    token: NDArray[np.intp], score: NDArray[np.float32], expert: NDArray[np.intp], bits: int
) -> NDArray[np.int64]:
    """Keys that sort by token, then score descending, then expert: token | ~order-preserving score | expert
    (`bits` wide). Tokens are chunk-local (below CHUNK_ROWS = 2^12), so 12 + 32 + bits <= 63."""
    raw = (score + np.float32(0.0)).view(np.int32)  # + 0.0 turns -0.0 into +0.0: equal scores, equal keys
    ordered = raw ^ ((raw >> 31) & np.int32(0x7FFFFFFF))  # signed order = float order
    descending = (~ordered).view(np.uint32) ^ np.uint32(0x80000000)  # unsigned order = descending float order
    return (
        (token.astype(np.int64) << np.int64(32 + bits))
        | (descending.astype(np.int64) << np.int64(bits))
        | expert.astype(np.int64)
    )


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
