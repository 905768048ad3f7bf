import itertools

import numpy as np
import pytest

from gigawatt.moe import AdaptiveKRouter, GpuState, SystemView, TwoStageRouter, adaptive_k


def test_k_stays_within_bounds_and_falls_with_load() -> None:
    loads = np.linspace(-0.5, 1.5, 41)
    ks = [adaptive_k(load, 2, 8) for load in loads]
    assert min(ks) == 2 and max(ks) == 8
    assert all(a >= b for a, b in itertools.pairwise(ks))
    assert adaptive_k(0.0, 2, 8) == 8 and adaptive_k(1.0, 2, 8) == 2 and adaptive_k(0.5, 2, 8) == 5


def test_router_uses_the_scalar_load(logits: np.ndarray) -> None:
    router = AdaptiveKRouter(k=8, k_min=2)
    previous = 9
    for load in (0.0, 0.3, 0.6, 1.0):
        routing = router.route(logits, system=SystemView(load=load))
        k_used = set(routing.k_per_token.tolist())
        assert len(k_used) == 1
        (k_now,) = k_used
        assert 2 <= k_now <= 8 and k_now <= previous
        previous = k_now
        assert routing.experts.shape[1] == 8
    assert previous == 2


def test_router_reads_queue_depth(logits: np.ndarray) -> None:
    router = AdaptiveKRouter(k=6, k_min=1, queue_full=100.0)
    busy = SystemView(gpus=GpuState.of(np.ones(4), np.full(4, 100.0)))
    idle = SystemView(gpus=GpuState.of(np.ones(4)))
    assert set(router.route(logits, system=busy).k_per_token.tolist()) == {1}
    assert set(router.route(logits, system=idle).k_per_token.tolist()) == {6}


def test_two_stage_can_adapt_k(logits: np.ndarray) -> None:
    routing = TwoStageRouter(k=8, k_min=4).route(logits, system=SystemView(load=1.0))
    assert set(routing.k_per_token.tolist()) == {4}


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="k_min"):
        AdaptiveKRouter(k=4, k_min=5)
    with pytest.raises(ValueError, match="load"):
        SystemView(load=1.5)
