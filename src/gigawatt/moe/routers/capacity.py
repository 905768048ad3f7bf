"""Top-K with an expert capacity (Switch Transformer, arXiv 2101.03961 §2.2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gigawatt.moe.occurrence import occurrence_rank
from gigawatt.moe.router import Choice, Placed
from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.system import SystemView


@dataclass(kw_only=True)
class CapacityRouter(TopKRouter):
    """Each expert takes at most capacity = ceil(capacity_factor × tokens × K / experts) tokens.

    Tokens are admitted in token order (a token's K slots in rank order); those beyond capacity overflow
    and go to the residual path: their slot is emptied and counted in both `overflow` and `dropped`. The
    surviving gates are not renormalised, so a dropped slot's share of the output is simply missing.
    """

    name = "capacity"
    capacity_factor: float = 1.25

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.capacity_factor <= 0:
            raise ValueError(f"capacity_factor must be positive, got {self.capacity_factor}")

    def capacity(self, n_tokens: int, n_experts: int) -> int:
        return math.ceil(self.capacity_factor * n_tokens * self.k / n_experts)

    def _place(self, choice: Choice, system: SystemView | None, first_token: int = 0) -> Placed:
        placed = super()._place(choice, system, first_token)
        n_tokens, n_experts = choice.gate_logits.shape
        flat = placed.experts.ravel()
        full = (flat >= 0) & (occurrence_rank(flat) >= self.capacity(n_tokens, n_experts))
        experts = np.where(full, -1, flat).reshape(placed.experts.shape).astype(np.int32)
        gpus = None if placed.gpus is None else np.where(experts >= 0, placed.gpus, -1).astype(np.int32)
        overflow = int(full.sum())
        return Placed(experts, gpus, overflow, placed.dropped + overflow, placed.rerouted)
