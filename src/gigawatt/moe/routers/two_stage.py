"""The two-stage decoupled router: shortlist by skill, then decide with skill and availability apart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.backup import Candidates, ServePlan
from gigawatt.moe.chunks import CHUNK_ROWS, chunks, for_chunks, worker_pool
from gigawatt.moe.router import Choice, Placed, Router
from gigawatt.moe.routers.adaptive_k import adaptive_k, check_k_bounds, system_load
from gigawatt.moe.routing import Routing
from gigawatt.moe.rowwise import row_max, take_rows
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

        # Stage one does not depend on load: shortlist every token (on logits: monotonic) by chunks of whole
        # waves, on the workers, while this thread runs stage two on the chunks already shortlisted.
        shortlist = np.empty((n_tokens, self.shortlist), dtype=np.int32)
        short_logits = np.empty((n_tokens, self.shortlist), dtype=np.float32)
        skill = np.empty((n_tokens, self.shortlist), dtype=np.float32)
        weighted_skill = np.empty((n_tokens, self.shortlist), dtype=np.float32)  # (1 - alpha) · skill
        holes = np.zeros(n_tokens, dtype=bool)  # -inf logits left holes in these tokens' shortlists
        experts = np.full((n_tokens, self.k), -1, dtype=np.int32)
        picked = np.full((n_tokens, self.k), -np.inf, dtype=np.float32)  # chosen logits, for the gates
        # Half of the load each wave would add under plain top-K (see stage two), per wave and GPU.
        n_gpus = 0 if expert_map is None else expert_map.n_gpus
        planned = np.zeros((-(-n_tokens // self.wave), n_gpus), dtype=np.int64)

        def stage_one(rows: slice) -> None:
            shortlist[rows], short_logits[rows] = top_k(matrix[rows], self.shortlist)
            skill[rows] = _skill(short_logits[rows], self.score)
            weighted_skill[rows] = (1.0 - self.alpha) * skill[rows]
            holes[rows] = row_max(shortlist[rows] < 0)
            if expert_map is not None:
                home = expert_map.replica_gpu[np.maximum(shortlist[rows, :k_now], 0), 0]  # -1: -inf logits
                first = rows.start // self.wave
                wave_of = (np.arange(rows.start, rows.stop) // self.wave - first)[:, None]
                waves = -(-(rows.stop - rows.start) // self.wave)
                planned[first : first + waves] = np.bincount(
                    (wave_of * n_gpus + home).ravel(), minlength=waves * n_gpus
                ).reshape(waves, n_gpus)

        if expert_map is None or gpu_state is None:
            # Without GPUs every expert is fully available and waves do not interact: decide all at once.
            available = np.ones(n_experts, dtype=np.float32)

            def both_stages(rows: slice) -> None:
                stage_one(rows)
                experts[rows, :k_now], picked[rows, :k_now] = self._decide(
                    shortlist[rows], short_logits[rows], weighted_skill[rows], available, k_now, holes[rows]
                )[:2]

            for_chunks(n_tokens, both_stages, self.workers)
            choice = Choice(experts, matrix, _among(shortlist, skill, n_experts), picked)
            return self._finish(choice, Placed(experts, None), system)

        gpus = np.full((n_tokens, self.k), -1, dtype=np.int32)
        routed = np.zeros(n_gpus)
        plan = ServePlan.of(expert_map, gpu_state, self.backup)
        availability_of = _Availability(expert_map, gpu_state)
        chunk_rows = max(1, CHUNK_ROWS // self.wave) * self.wave
        parts = chunks(n_tokens, chunk_rows)
        if self.workers > 1:
            shortlisted = [worker_pool(self.workers).submit(stage_one, rows) for rows in parts]
        dropped = rerouted = 0
        for number, start in enumerate(range(0, n_tokens, self.wave)):
            if start % chunk_rows == 0:
                if self.workers > 1:
                    shortlisted[start // chunk_rows].result()
                else:
                    stage_one(parts[start // chunk_rows])
            wave = slice(start, min(start + self.wave, n_tokens))
            available = availability_of(routed + 0.5 * planned[number])
            chosen, chosen_logits, mixed = self._decide(
                shortlist[wave], short_logits[wave], weighted_skill[wave], available, k_now, holes[wave]
            )
            served = plan.serve(chosen, _among(shortlist[wave], mixed, n_experts), first_token=start)
            experts[wave, :k_now] = served.experts
            if served.experts is chosen:  # nothing substituted: the shortlist already holds the logits
                picked[wave, :k_now] = chosen_logits
            else:
                picked[wave, :k_now] = take_rows(matrix[wave], np.maximum(served.experts, 0))
            gpus[wave, :k_now] = served.gpus
            routed += np.bincount(served.gpus.ravel() + 1, minlength=n_gpus + 1)[1:]
            dropped += served.dropped
            rerouted += served.rerouted
        placed = Placed(experts, gpus, dropped=dropped, rerouted=rerouted)
        choice = Choice(experts, matrix, _among(shortlist, skill, n_experts), picked)
        return self._finish(choice, placed, system)

    def _decide(
        self,
        shortlisted: NDArray[np.int32],
        short_logits: NDArray[np.float32],
        weighted_skill: NDArray[np.float32],
        available: NDArray[np.float32],
        k_now: int,
        holes: NDArray[np.bool_],
    ) -> tuple[NDArray[np.int32], NDArray[np.float32], NDArray[np.float32]]:
        """Stage two for some tokens: the chosen experts, their logits and the mixed scores. holes: tokens
        whose shortlist has empty (-1) places."""
        availability = available[shortlisted]
        mixed = weighted_skill + self.alpha * availability
        if available.min() <= 0 or holes.any():
            mixed[(shortlisted < 0) | (availability <= 0)] = -np.inf
        pick, _ = top_k(mixed, k_now)
        slot = np.maximum(pick, 0)
        chosen = np.where(pick >= 0, take_rows(shortlisted, slot), -1).astype(np.int32)
        return chosen, take_rows(short_logits, slot), mixed


class _Availability:
    """expert_availability for one expert map and GPU state, with what does not depend on the routed load
    worked out once per batch (the common case, every GPU alive and one replica per expert, in four steps)."""

    def __init__(self, expert_map: ExpertMap, gpus: GpuState) -> None:
        self.expert_map, self.gpus = expert_map, gpus
        self.simple = bool(gpus.alive.all()) and expert_map.replica_gpu.shape[1] == 1
        self.home = expert_map.replica_gpu[:, 0]

    def __call__(self, routed: NDArray[np.float64]) -> NDArray[np.float32]:
        if not self.simple:
            return expert_availability(self.expert_map, self.gpus, routed)
        wait = (self.gpus.queue + routed + 1.0) / self.gpus.speed
        return (wait.min() / wait)[self.home].astype(np.float32)


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
