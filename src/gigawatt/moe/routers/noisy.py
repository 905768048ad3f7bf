"""Noisy top-k gating (Shazeer et al. 2017, arXiv 1701.06538, eq. 3-5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gigawatt.moe.chunks import chunks, worker_pool
from gigawatt.moe.router import Choice, rows_of
from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.routing import Routing
from gigawatt.moe.scoring import as_score_matrix
from gigawatt.moe.system import SystemView
from gigawatt.moe.topk import top_k


@dataclass(kw_only=True)
class NoisyTopKRouter(TopKRouter):
    """Top-K over logits + N(0, σ²) noise; σ = softplus(noise_logits) when given, else `noise_std`.

    As in the paper the gates come from the noisy logits (softmax over the kept K).
    """

    name = "noisy_topk"
    noise_std: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be non-negative, got {self.noise_std}")

    def route(
        self,
        logits: ArrayLike,
        *,
        system: SystemView | None = None,
        rng: np.random.Generator | None = None,
        noise_logits: ArrayLike | None = None,
    ) -> Routing:
        if rng is None:
            raise ValueError("noisy_topk needs a numpy.random.Generator (rng=...)")
        matrix = as_score_matrix(logits)
        raw = None if noise_logits is None else as_score_matrix(noise_logits)
        if raw is not None and raw.shape != matrix.shape:
            raise ValueError(f"noise_logits shape {raw.shape} differs from logits shape {matrix.shape}")
        self._check_k(matrix)
        noisy = np.empty_like(matrix)
        experts = np.empty((len(matrix), self.k), dtype=np.int32)
        picked = np.empty((len(matrix), self.k), dtype=np.float32)

        def select(rows: slice) -> None:
            # noisy[rows] already holds the draws: scale by σ, add the logits (= logits + noise · σ).
            # σ: noise_std, or softplus(noise_logits)
            std = np.float32(self.noise_std) if raw is None else np.logaddexp(np.float32(0.0), raw[rows])
            noisy[rows] *= std
            noisy[rows] += matrix[rows]
            experts[rows], picked[rows] = top_k(noisy[rows], self.k)

        # One generator gives one stream of draws, so chunks are drawn in order on this thread (the same
        # numbers as one draw of the whole matrix) while workers select on the chunks already drawn.
        pending = []
        pool = worker_pool(self.workers) if self.workers > 1 else None
        for rows in chunks(len(matrix)):
            rng.standard_normal(dtype=np.float32, out=noisy[rows])
            if pool is None:
                select(rows)
            else:
                pending.append(pool.submit(select, rows))
        for job in pending:
            job.result()
        choice = Choice(experts, noisy, rows_of(noisy), picked)
        return self._finish(choice, self._place(choice, system), system)
