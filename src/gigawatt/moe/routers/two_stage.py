"""The two-stage decoupled router: shortlist by skill, then decide with skill and availability apart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.backup import Candidates
from gigawatt.moe.router import Choice, Placed, Router
from gigawatt.moe.routers.adaptive_k import adaptive_k, check_k_bounds, system_load
from gigawatt.moe.routing import Routing
from gigawatt.moe.rowwise import take_rows
from gigawatt.moe.scoring import ScoreFn, activate, as_score_matrix
from gigawatt.moe.system import ExpertMap, GpuState, SystemView
from gigawatt.moe.topk import top_k


@dataclass(kw_only=True)
class TwoStageRouter(Router):
    """Stage one shortlists each token's `shortlist` best experts by affinity (skill). Stage two scores

        score = (1 - alpha) · skill_norm + alpha · availability_norm

    and keeps the K best of the shortlist, where
    * skill_norm maps the token's shortlisted affinities onto [0, 1] (min-max), and
    * availability_norm = t_best / t_gpu, with t_gpu = (queued + routed-so-far + 1) / speed the time a new
      token would wait on the GPU (its best replica's GPU), so 1 is the most available GPU; alpha = 0 is
      plain top-K. Experts with no live GPU are never chosen.
    Tokens are decided in waves of `wave` tokens; the routed-so-far load is updated between waves, so later
    waves see the load the earlier ones created (plus half of what the current wave would add under plain
    top-K). Waves much smaller than the batch keep the feedback smooth; large ones make load oscillate.
    With `k_min` set, K adapts to system load as in AdaptiveKRouter. The backup path then applies, with
    substitutes taken from the shortlist.
    """

    name = "two_stage"
    shortlist: int = 16
    alpha: float = 0.3
    wave: int = 1024
    k_min: int | None = None
    queue_full: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shortlist < self.k:
            raise ValueError(f"shortlist ({self.shortlist}) must be at least k ({self.k})")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], got {self.alpha}")
        if self.wave < 1:
            raise ValueError(f"wave must be at least 1, got {self.wave}")
        if self.k_min is not None:
            check_k_bounds(self.k_min, self.k, self.queue_full)

    def route(
        self,
        logits: ArrayLike,
        *,
        system: SystemView | None = None,
        rng: np.random.Generator | None = None,
    ) -> Routing:
        matrix = as_score_matrix(logits)
        n_tokens, n_experts = matrix.shape
        if self.shortlist > n_experts:
            raise ValueError(f"shortlist ({self.shortlist}) exceeds the {n_experts} experts")
        k_now = (
            self.k
            if self.k_min is None
            else adaptive_k(system_load(system, self.queue_full), self.k_min, self.k)
        )
        expert_map = system.expert_map if system is not None else None
        gpu_state = system.gpu_state() if system is not None and expert_map is not None else None

        # Stage one does not depend on load, so shortlist the whole batch at once (on logits: monotonic).
        shortlist, short_logits = top_k(matrix, self.shortlist, workers=self.workers)
        skill = _skill(short_logits, self.score)
        incomplete = bool((shortlist < 0).any())  # -inf logits left holes in some shortlists
        experts = np.full((n_tokens, self.k), -1, dtype=np.int32)
        gpus = None if expert_map is None else np.full((n_tokens, self.k), -1, dtype=np.int32)
        routed = np.zeros(0 if expert_map is None else expert_map.n_gpus)
        picked = np.full((n_tokens, self.k), -np.inf, dtype=np.float32)  # chosen logits, for the gates
        dropped = rerouted = 0
        for start in range(0, n_tokens, self.wave):
            wave = slice(start, min(start + self.wave, n_tokens))
            if expert_map is None or gpu_state is None:
                available = np.ones(n_experts, dtype=np.float32)
            else:
                # Count half of the load this wave would add under plain top-K, so that a whole wave does
                # not herd onto the GPU that looked idlest at its start.
                plain_top_k = np.maximum(shortlist[wave, :k_now], 0)  # -1 only for -inf logits
                planned = np.bincount(expert_map.replica_gpu[plain_top_k, 0].ravel(), minlength=routed.size)
                available = expert_availability(expert_map, gpu_state, routed + 0.5 * planned)
            shortlisted = shortlist[wave]
            availability = available[shortlisted]
            mixed = (1.0 - self.alpha) * skill[wave] + self.alpha * availability
            if incomplete or available.min() <= 0:
                mixed[(shortlisted < 0) | (availability <= 0)] = -np.inf
            pick, _ = top_k(mixed, k_now)
            chosen = np.where(pick >= 0, take_rows(shortlisted, np.maximum(pick, 0)), -1)
            choice = Choice(chosen, matrix[wave], _among(shortlisted, mixed, n_experts))
            placed = self._place(choice, system, first_token=start)
            experts[wave, :k_now] = placed.experts
            if placed.experts is chosen:  # nothing substituted: the shortlist already holds the logits
                picked[wave, :k_now] = take_rows(short_logits[wave], np.maximum(pick, 0))
            else:
                picked[wave, :k_now] = take_rows(matrix[wave], np.maximum(placed.experts, 0))
            if gpus is not None and placed.gpus is not None:
                gpus[wave, :k_now] = placed.gpus
                routed += np.bincount(placed.gpus.ravel() + 1, minlength=routed.size + 1)[1:]
            dropped += placed.dropped
            rerouted += placed.rerouted
        placed = Placed(experts, gpus, dropped=dropped, rerouted=rerouted)
        choice = Choice(experts, matrix, _among(shortlist, skill, n_experts), picked)
        return self._finish(choice, placed, system)


def expert_availability(
    expert_map: ExpertMap, gpus: GpuState, routed: NDArray[np.float64]
) -> NDArray[np.float32]:
    """Availability in [0, 1] of each expert: t_best / t of its best replica's GPU; 0 when none is alive."""
    with np.errstate(divide="ignore"):
        wait = (gpus.queue + routed + 1.0) / gpus.speed
    alive = gpus.alive
    if not alive.any():
        return np.zeros(expert_map.n_experts, dtype=np.float32)
    per_gpu = np.where(alive, wait[alive].min() / np.where(alive, wait, 1.0), 0.0)
    table = expert_map.replica_gpu
    per_replica = np.where(table >= 0, per_gpu[np.maximum(table, 0)], 0.0)
    return per_replica.max(axis=1).astype(np.float32)


def _skill(short_logits: NDArray[np.float32], score: ScoreFn) -> NDArray[np.float32]:
    """Each token's shortlisted affinities mapped onto [0, 1] (min-max; all equal maps to 1).

    Rows arrive sorted best first, so the ends hold the extremes. For softmax, exp(l - l_best) are the
    probabilities up to a per-token factor, which min-max removes: no sum over all experts is needed.
    """
    if score == "softmax":
        affinity = np.exp(short_logits - short_logits[:, :1])
    else:
        affinity = activate(short_logits, score)
    low = affinity[:, -1:]
    if not np.isfinite(low).all():  # identity scores with -inf: take the lowest finite one
        low = np.where(np.isfinite(affinity), affinity, np.inf).min(axis=1, keepdims=True)
    span = affinity[:, :1] - low
    with np.errstate(invalid="ignore"):  # rows of only -inf: filled with -inf below
        scaled = np.divide(affinity - low, span, out=np.ones_like(affinity), where=span > 0)
    if not np.isfinite(affinity[:, -1]).all():
        scaled[~np.isfinite(affinity)] = -np.inf
    return scaled.astype(np.float32, copy=False)


def _among(shortlist: NDArray[np.int32], scores: NDArray[np.float32], n_experts: int) -> Candidates:
    """Candidates limited to the shortlist, ranked by `scores` (aligned with `shortlist`)."""

    def candidates(rows: NDArray[np.intp]) -> NDArray[np.float32]:
        full = np.full((rows.size, n_experts), -np.inf, dtype=np.float32)
        ids = shortlist[rows]
        has = ids >= 0
        full[np.nonzero(has)[0], ids[has]] = scores[rows][has]
        return full

    return candidates
