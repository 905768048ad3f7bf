"""The common router pipeline: select experts → backup path / GPU choice → gate weights → counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.backup import BackupPolicy, Candidates, serve
from gigawatt.moe.chunks import for_chunks
from gigawatt.moe.routing import Counts, Routing
from gigawatt.moe.scoring import ScoreFn, activate, as_score_matrix, check_score_fn, gate_weights
from gigawatt.moe.system import SystemView


@dataclass(frozen=True)
class Choice:
    """What a router's selection step decided for a batch.

    experts: (tokens, k_max) chosen experts, -1 empty.
    gate_logits: logits the gate weights come from (unbiased; the noisy ones for noisy top-k).
    candidates: scores that rank substitutes for the backup path.
    picked: gate_logits at `experts`, when the selection step already has them.
    log_norm: (tokens, 1) log Σ exp of gate_logits, when the selection step already has it.
    """

    experts: NDArray[np.int32]
    gate_logits: NDArray[np.float32]
    candidates: Candidates
    picked: NDArray[np.float32] | None = None
    log_norm: NDArray[np.float32] | None = None


@dataclass(frozen=True)
class Placed:
    """Slots after the backup path and any capacity limit."""

    experts: NDArray[np.int32]
    gpus: NDArray[np.int32] | None
    overflow: int = 0
    dropped: int = 0
    rerouted: int = 0


@dataclass(kw_only=True)
class Router:
    """Options every router shares.

    k: experts per token (the most per token for routers that vary it).
    score: how logits become scores ("softmax", "sigmoid", or "identity" for ready-made scores).
    normalize: rescale each token's gates to sum to 1 over its chosen experts.
    n_shared: always-on shared experts; they need no routing and appear only in the counters.
    backup: when to steer slots away from a GPU (used when the system view has an expert map).
    workers: threads for the row-wise steps (scores, top-k, gates); results do not depend on it.
    """

    name: ClassVar[str] = "router"

    k: int = 8
    score: ScoreFn = "softmax"
    normalize: bool = True
    n_shared: int = 0
    backup: BackupPolicy = field(default_factory=BackupPolicy)
    workers: int = 1

    def __post_init__(self) -> None:
        check_score_fn(self.score)
        if self.k < 1 or self.n_shared < 0 or self.workers < 1:
            raise ValueError(f"{self.name}: need k >= 1, n_shared >= 0, workers >= 1")

    def route(
        self,
        logits: ArrayLike,
        *,
        system: SystemView | None = None,
        rng: np.random.Generator | None = None,
    ) -> Routing:
        """Route a batch of router logits (tokens × experts)."""
        matrix = as_score_matrix(logits)
        choice = self._select(matrix, system, rng)
        return self._finish(choice, self._place(choice, system), system)

    def _select(
        self, logits: NDArray[np.float32], system: SystemView | None, rng: np.random.Generator | None
    ) -> Choice:
        raise NotImplementedError

    def _place(self, choice: Choice, system: SystemView | None, first_token: int = 0) -> Placed:
        if system is None or system.expert_map is None:
            return Placed(choice.experts, None)
        served = serve(
            choice.experts, choice.candidates, system.expert_map, system.gpu_state(), self.backup, first_token
        )
        return Placed(served.experts, served.gpus, dropped=served.dropped, rerouted=served.rerouted)

    def _finish(self, choice: Choice, placed: Placed, system: SystemView | None) -> Routing:
        # Reuse the chosen logits unless a backup or capacity step changed the experts.
        picked = choice.picked if placed.experts is choice.experts else None
        expert_map = system.expert_map if system is not None else None
        n_experts = choice.gate_logits.shape[1]
        n_gpus = expert_map.n_gpus if expert_map is not None else None
        weights = np.empty(placed.experts.shape, dtype=np.float32)
        counts: dict[int, Counts] = {}

        def gates_and_counts(rows: slice) -> None:
            weights[rows] = gate_weights(
                choice.gate_logits[rows],
                placed.experts[rows],
                self.score,
                self.normalize,
                None if picked is None else picked[rows],
                None if choice.log_norm is None else choice.log_norm[rows],
            )
            gpus = None if placed.gpus is None else placed.gpus[rows]
            counts[rows.start] = Counts.of(placed.experts[rows], gpus, n_experts, n_gpus)

        for_chunks(len(weights), gates_and_counts, self.workers)
        parts = list(counts.values())  # integer counts: the order of the sum does not matter
        total = parts[0] if parts else Counts.of(placed.experts, placed.gpus, n_experts, n_gpus)
        for part in parts[1:]:
            total = total + part
        stats = total.stats(
            len(weights),
            self.n_shared,
            overflow=placed.overflow,
            dropped=placed.dropped,
            rerouted=placed.rerouted,
        )
        return Routing(experts=placed.experts, weights=weights, gpus=placed.gpus, stats=stats)


def rows_of(scores: NDArray[np.float32]) -> Candidates:
    """Candidates read straight from a (tokens, experts) score matrix."""
    return lambda rows: scores[rows]


def scored_rows(logits: NDArray[np.float32], score: ScoreFn) -> Candidates:
    """Candidates scored when asked. Scores are row-wise, so this equals rows_of(activate(logits, score))
    without keeping a (tokens, experts) score matrix."""
    return lambda rows: activate(logits[rows], score)
