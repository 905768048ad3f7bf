"""Noisy top-k gating (Shazeer et al. 2017, arXiv 1701.06538, eq. 3-5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.routing import Routing
from gigawatt.moe.scoring import as_score_matrix
from gigawatt.moe.system import SystemView


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
        if noise_logits is None:
            std: np.ndarray | float = self.noise_std
        else:
            raw = as_score_matrix(noise_logits)
            if raw.shape != matrix.shape:
                raise ValueError(f"noise_logits shape {raw.shape} differs from logits shape {matrix.shape}")
            std = np.logaddexp(np.float32(0.0), raw)  # softplus
        noisy = matrix + rng.standard_normal(matrix.shape, dtype=np.float32) * np.asarray(
            std, dtype=np.float32
        )
        return super().route(noisy, system=system)
