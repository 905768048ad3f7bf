"""The chunked, threaded routers give bit-identical results to whole-batch reference implementations.

Inputs cross several chunk boundaries (CHUNK_ROWS) and hold exact ties, -inf logits, a failed GPU, a
throttled one, a long queue and experts with two replicas; every router runs with one and two workers.
"""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.moe import ExpertMap, GpuState, Routing, SystemView, make_router, synthetic_logits
from gigawatt.moe.chunks import CHUNK_ROWS
from gigawatt.moe.occurrence import occurrence_rank

from . import reference_routers as ref

N_TOKENS = 2 * CHUNK_ROWS + 777
N_EXPERTS = 64
K = 6


@pytest.fixture(scope="module")
def logits() -> np.ndarray:
    rng = np.random.default_rng(42)
    matrix = synthetic_logits(N_TOKENS, N_EXPERTS, rng=rng, zipf_exponent=1.0)
    matrix[:1500] = np.round(matrix[:1500] * 2) / 2  # exact ties, within rows and between tokens
    matrix[1500:1600, 3] = -np.inf
    matrix[1600:1610, :-3] = -np.inf  # fewer finite logits than K
    return matrix


def _system(kind: str) -> SystemView | None:
    if kind == "none":
        return None
    speed = np.ones(8)
    queue = np.zeros(8)
    table = np.full((N_EXPERTS, 2), -1, dtype=np.int32)
    table[:, 0] = np.arange(N_EXPERTS) // 8
    if kind == "healthy":
        return SystemView(expert_map=ExpertMap(table[:, :1], 8), gpus=GpuState.of(speed))
    speed[2] = 0.0  # failed
    speed[5] = 0.3  # throttled below the backup threshold
    queue[6] = 3000.0
    table[::3, 1] = (table[::3, 0] + 3) % 8
    return SystemView(expert_map=ExpertMap(table, 8), gpus=GpuState.of(speed, queue))


def assert_same(new: Routing, old: Routing) -> None:
    np.testing.assert_array_equal(new.experts, old.experts)
    np.testing.assert_array_equal(new.weights, old.weights)
    if old.gpus is None:
        assert new.gpus is None
    else:
        np.testing.assert_array_equal(new.gpus, old.gpus)
    a, b = new.stats, old.stats
    np.testing.assert_array_equal(a.expert_load, b.expert_load)
    np.testing.assert_array_equal(a.k_hist, b.k_hist)
    if b.gpu_load is not None:
        np.testing.assert_array_equal(a.gpu_load, b.gpu_load)
    assert (a.overflow, a.dropped, a.rerouted, a.balancedness) == (
        b.overflow,
        b.dropped,
        b.rerouted,
        b.balancedness,
    )


SYSTEMS = ["none", "healthy", "degraded"]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", SYSTEMS)
def test_topk_capacity_and_top_p(logits: np.ndarray, workers: int, kind: str) -> None:
    system = _system(kind)
    for score, normalize in (("softmax", True), ("sigmoid", False)):
        new = make_router("topk", k=K, score=score, normalize=normalize, workers=workers).route(
            logits, system=system
        )
        assert_same(new, ref.topk_route(logits, K, system, score=score, normalize=normalize))
    new = make_router("capacity", k=K, capacity_factor=1.1, workers=workers).route(logits, system=system)
    assert_same(new, ref.topk_route(logits, K, system, capacity_factor=1.1))
    new = make_router("top_p", k=K, p=0.6, workers=workers).route(logits, system=system)
    assert_same(new, ref.top_p_route(logits, K, 0.6, system))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", SYSTEMS)
def test_noisy_top_k(logits: np.ndarray, workers: int, kind: str) -> None:
    system = _system(kind)
    router = make_router("noisy_topk", k=K, workers=workers)
    assert_same(
        router.route(logits, system=system, rng=np.random.default_rng(3)),
        ref.noisy_route(logits, K, np.random.default_rng(3), system),
    )
    noise_logits = np.random.default_rng(4).standard_normal(logits.shape).astype(np.float32)
    new = router.route(logits, system=system, rng=np.random.default_rng(5), noise_logits=noise_logits)
    assert_same(new, ref.noisy_route(logits, K, np.random.default_rng(5), system, noise_logits=noise_logits))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", SYSTEMS)
def test_group_limited_and_bias_balanced(logits: np.ndarray, workers: int, kind: str) -> None:
    system = _system(kind)
    for groups, kept, score in ((8, 3, "sigmoid"), (16, 5, "softmax"), (64, 7, "identity")):
        router = make_router(
            "group_limited", k=K, n_groups=groups, topk_groups=kept, score=score, workers=workers
        )
        expected = ref.group_limited_route(logits, K, system, n_groups=groups, topk_groups=kept, score=score)
        assert_same(router.route(logits, system=system), expected)
    router = make_router("bias_balanced", k=K, gamma=0.01, workers=workers)
    bias = np.zeros(N_EXPERTS, dtype=np.float32)
    for _ in range(3):  # the bias moves between batches
        expected = ref.group_limited_route(logits, K, system, n_groups=1, topk_groups=1, bias=bias.copy())
        assert_same(router.route(logits, system=system), expected)
        load = expected.stats.expert_load
        bias -= np.float32(0.01) * np.sign(load - load.mean()).astype(np.float32)
        np.testing.assert_array_equal(router.bias, bias)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", SYSTEMS)
def test_expert_choice(logits: np.ndarray, workers: int, kind: str) -> None:
    system = _system(kind)
    for score, factor, normalize in (
        ("softmax", 1.0, False),
        ("sigmoid", 2.0, True),
        ("identity", 0.5, False),
    ):
        router = make_router(
            "expert_choice", k=K, score=score, capacity_factor=factor, normalize=normalize, workers=workers
        )
        expected = ref.expert_choice_route(
            logits, K, system, capacity_factor=factor, score=score, normalize=normalize
        )
        assert_same(router.route(logits, system=system), expected)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", SYSTEMS)
def test_two_stage(logits: np.ndarray, workers: int, kind: str) -> None:
    system = _system(kind)
    for options in (
        {"shortlist": 12, "alpha": 0.3},
        {"shortlist": 8, "alpha": 0.7, "wave": 700, "score": "sigmoid"},
        {"shortlist": 10, "alpha": 0.5, "wave": 5000, "k_min": 2, "queue_full": 1000.0},
    ):
        router = make_router("two_stage", k=K, workers=workers, **options)
        assert_same(router.route(logits, system=system), ref.two_stage_route(logits, K, system, **options))


def test_occurrence_rank_matches_a_stable_sort() -> None:
    rng = np.random.default_rng(9)
    for ids in (
        rng.integers(-1, 256, 50_000),
        rng.integers(-5, 70_000, 50_000),
        np.array([], dtype=np.int64),
    ):
        np.testing.assert_array_equal(occurrence_rank(ids), ref.rank_in_order(ids))
