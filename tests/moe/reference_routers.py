"""Whole-batch reference routers: the straightforward implementation the chunked, threaded routers replaced.

Each works on the whole batch at once with full-width NumPy steps and a stable argsort for every top-k (ties
to the lower column, -inf never chosen), exactly as the routers did before they were split into chunks. The
equivalence tests compare the routers against these, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe import ExpertMap, Routing, SystemView
from gigawatt.moe.backup import BackupPolicy, serve
from gigawatt.moe.routers.adaptive_k import adaptive_k, system_load
from gigawatt.moe.routers.two_stage import expert_availability
from gigawatt.moe.routing import routing_stats
from gigawatt.moe.scoring import activate, gate_weights

Matrix = NDArray[np.float32]


def top_k(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    index = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int32)
    value = np.take_along_axis(scores, index, axis=1)
    index[value == -np.inf] = -1
    return index, value


def rank_in_order(ids: NDArray[np.integer]) -> NDArray[np.int64]:
    """How many earlier entries share each entry's id (a plain stable argsort)."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    position = np.arange(ids.size)
    run_start = np.ones(ids.size, dtype=bool)
    run_start[1:] = sorted_ids[1:] != sorted_ids[:-1]
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = position - np.maximum.accumulate(np.where(run_start, position, 0))
    return rank


def finish(
    experts: NDArray[np.int32],
    gate_logits: NDArray[np.float32],
    candidates: NDArray[np.float32],
    system: SystemView | None,
    *,
    score: str,
    normalize: bool,
    overflow_cap: int | None = None,
    backup: BackupPolicy | None = None,
) -> Routing:
    """Backup path, capacity limit, gates and counters over the whole batch."""
    gpus = None
    dropped = rerouted = overflow = 0
    expert_map = None if system is None else system.expert_map
    if system is not None and expert_map is not None:
        served = serve(
            experts, lambda rows: candidates[rows], expert_map, system.gpu_state(), backup or BackupPolicy()
        )
        experts, gpus, dropped, rerouted = served.experts, served.gpus, served.dropped, served.rerouted
    if overflow_cap is not None:
        flat = experts.ravel()
        full = (flat >= 0) & (rank_in_order(flat) >= overflow_cap)
        experts = np.where(full, -1, flat).reshape(experts.shape).astype(np.int32)
        gpus = None if gpus is None else np.where(experts >= 0, gpus, -1).astype(np.int32)
        overflow = int(full.sum())
        dropped += overflow
    weights = gate_weights(gate_logits, experts, score, normalize)  # type: ignore[arg-type]
    stats = routing_stats(
        experts,
        gpus,
        n_experts=gate_logits.shape[1],
        n_gpus=None if expert_map is None else expert_map.n_gpus,
        n_shared=0,
        overflow=overflow,
        dropped=dropped,
        rerouted=rerouted,
    )
    return Routing(experts=experts, weights=weights, gpus=gpus, stats=stats)


def topk_route(
    logits: Matrix,
    k: int,
    system: SystemView | None = None,
    *,
    score: str = "softmax",
    normalize: bool = True,
    capacity_factor: float | None = None,
) -> Routing:
    experts, _ = top_k(logits, k)
    cap = None
    if capacity_factor is not None:
        cap = math.ceil(capacity_factor * logits.shape[0] * k / logits.shape[1])
    return finish(experts, logits, logits, system, score=score, normalize=normalize, overflow_cap=cap)


def noisy_route(
    logits: Matrix,
    k: int,
    rng: np.random.Generator,
    system: SystemView | None = None,
    *,
    noise_std: float = 1.0,
    noise_logits: Matrix | None = None,
) -> Routing:
    std = noise_std if noise_logits is None else np.logaddexp(np.float32(0.0), noise_logits)
    noisy = logits + rng.standard_normal(logits.shape, dtype=np.float32) * np.asarray(std, dtype=np.float32)
    experts, _ = top_k(noisy, k)
    return finish(experts, noisy, noisy, system, score="softmax", normalize=True)


def allowed_scores(scores: Matrix, n_groups: int, topk_groups: int) -> Matrix:
    n_tokens, n_experts = scores.shape
    if topk_groups == n_groups:
        return scores
    size = n_experts // n_groups
    grouped = scores.reshape(n_tokens, n_groups, size)
    best = grouped.max(axis=2)
    if size == 1:
        group_score = best
    else:
        is_best = grouped == best[:, :, None]
        runner_up = np.where(is_best, -np.inf, grouped).max(axis=2)
        runner_up = np.where(is_best.sum(axis=2) > 1, best, runner_up)
        group_score = (best + runner_up).astype(np.float32)
    kept, _ = top_k(group_score, topk_groups)
    keep = np.zeros((n_tokens, n_groups), dtype=bool)
    np.put_along_axis(keep, kept.astype(np.intp), True, axis=1)
    return np.where(np.repeat(keep, size, axis=1), scores, np.float32(-np.inf))


def group_limited_route(
    logits: Matrix,
    k: int,
    system: SystemView | None = None,
    *,
    n_groups: int,
    topk_groups: int,
    score: str = "sigmoid",
    normalize: bool = True,
    bias: NDArray[np.float32] | None = None,
) -> Routing:
    scores = activate(logits, score)
    if bias is not None:
        scores = scores + bias
    allowed = allowed_scores(scores, n_groups, topk_groups)
    experts, _ = top_k(allowed, k)
    return finish(experts, logits, allowed, system, score=score, normalize=normalize)


def top_p_route(
    logits: Matrix, k: int, p: float, system: SystemView | None = None, *, score: str = "softmax"
) -> Routing:
    probs = activate(logits, score)
    experts, top = top_k(probs, min(k, probs.shape[1]))
    covered_before = np.cumsum(top, axis=1) - top
    experts = np.where(covered_before < p, experts, -1).astype(np.int32)
    return finish(experts, logits, probs, system, score=score, normalize=True)


def expert_choice_route(
    logits: Matrix,
    k: int,
    system: SystemView | None = None,
    *,
    capacity_factor: float = 1.0,
    score: str = "softmax",
    normalize: bool = False,
) -> Routing:
    scores = activate(logits, score)
    n_tokens, n_experts = scores.shape
    per_expert = min(n_tokens, math.ceil(capacity_factor * n_tokens * k / n_experts))
    tokens, picked = top_k(np.ascontiguousarray(scores.T), per_expert)
    experts = np.repeat(np.arange(n_experts, dtype=np.int32), per_expert)
    valid = tokens.ravel() >= 0
    tokens, picked, experts = tokens.ravel()[valid], picked.ravel()[valid], experts[valid]
    order = np.lexsort((-picked, tokens))
    tokens, experts = tokens[order], experts[order]
    slot = rank_in_order(tokens)
    table = np.full((n_tokens, int(slot.max(initial=0)) + 1), -1, dtype=np.int32)
    table[tokens, slot] = experts
    return finish(table, logits, scores, system, score=score, normalize=normalize)


def _skill(short_logits: Matrix, score: str) -> Matrix:
    if score == "softmax":
        affinity = np.exp(short_logits - short_logits[:, :1])
    else:
        affinity = activate(short_logits, score)
    low = affinity[:, -1:]
    if not np.isfinite(low).all():
        low = np.where(np.isfinite(affinity), affinity, np.inf).min(axis=1, keepdims=True)
    span = affinity[:, :1] - low
    with np.errstate(invalid="ignore"):
        scaled = np.divide(affinity - low, span, out=np.ones_like(affinity), where=span > 0)
    if not np.isfinite(affinity[:, -1]).all():
        scaled[~np.isfinite(affinity)] = -np.inf
    return scaled.astype(np.float32, copy=False)


def _among_matrix(shortlist: NDArray[np.int32], scores: Matrix, n_experts: int) -> Matrix:
    full = np.full((shortlist.shape[0], n_experts), -np.inf, dtype=np.float32)
    has = shortlist >= 0
    full[np.nonzero(has)[0], shortlist[has]] = scores[has]
    return full


def two_stage_route(
    logits: Matrix,
    k: int,
    system: SystemView | None = None,
    *,
    shortlist: int = 16,
    alpha: float = 0.3,
    wave: int = 1024,
    k_min: int | None = None,
    queue_full: float | None = None,
    score: str = "softmax",
) -> Routing:
    """The wave-by-wave two-stage router, one wave at a time with whole-wave steps."""
    n_tokens, n_experts = logits.shape
    k_now = k if k_min is None else adaptive_k(system_load(system, queue_full), k_min, k)
    expert_map: ExpertMap | None = None if system is None else system.expert_map
    gpu_state = system.gpu_state() if system is not None and expert_map is not None else None
    short, short_logits = top_k(logits, shortlist)
    skill = _skill(short_logits, score)
    incomplete = bool((short < 0).any())
    experts = np.full((n_tokens, k), -1, dtype=np.int32)
    gpus = None if expert_map is None else np.full((n_tokens, k), -1, dtype=np.int32)
    routed = np.zeros(0 if expert_map is None else expert_map.n_gpus)
    dropped = rerouted = 0
    for start in range(0, n_tokens, wave):
        rows = slice(start, min(start + wave, n_tokens))
        if expert_map is None or gpu_state is None:
            available = np.ones(n_experts, dtype=np.float32)
        else:
            plain = np.maximum(short[rows, :k_now], 0)
            planned = np.bincount(expert_map.replica_gpu[plain, 0].ravel(), minlength=routed.size)
            available = expert_availability(expert_map, gpu_state, routed + 0.5 * planned)
        listed = short[rows]
        availability = available[listed]
        mixed = (1.0 - alpha) * skill[rows] + alpha * availability
        if incomplete or available.min() <= 0:
            mixed[(listed < 0) | (availability <= 0)] = -np.inf
        pick, _ = top_k(mixed, k_now)
        chosen = np.where(pick >= 0, np.take_along_axis(listed, np.maximum(pick, 0), axis=1), -1)
        chosen = chosen.astype(np.int32)
        if expert_map is None or gpu_state is None:
            experts[rows, :k_now] = chosen
            continue
        candidates = _among_matrix(listed, mixed, n_experts)
        served = serve(chosen, lambda r, c=candidates: c[r], expert_map, gpu_state, BackupPolicy(), start)
        experts[rows, :k_now] = served.experts
        assert gpus is not None
        gpus[rows, :k_now] = served.gpus
        routed += np.bincount(served.gpus.ravel() + 1, minlength=routed.size + 1)[1:]
        dropped += served.dropped
        rerouted += served.rerouted
    weights = gate_weights(logits, experts, score, True)  # type: ignore[arg-type]
    stats = routing_stats(
        experts,
        gpus,
        n_experts=n_experts,
        n_gpus=None if expert_map is None else expert_map.n_gpus,
        n_shared=0,
        dropped=dropped,
        rerouted=rerouted,
    )
    return Routing(experts=experts, weights=weights, gpus=gpus, stats=stats)
