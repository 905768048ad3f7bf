import numpy as np
import pytest

from gigawatt.moe import ExpertMap, GpuState, SystemView, TopKRouter, TwoStageRouter, synthetic_logits

EXPERT_GPU = np.arange(64) // 8  # 8 GPUs, 8 experts each


def system(speed: np.ndarray, queue: np.ndarray | None = None) -> SystemView:
    return SystemView(expert_map=ExpertMap.from_expert_gpu(EXPERT_GPU), gpus=GpuState.of(speed, queue))


def test_alpha_zero_is_plain_top_k_among_the_shortlist(logits: np.ndarray) -> None:
    throttled = system(np.array([0.6, 1, 1, 1, 1, 1, 1, 1]))
    two_stage = TwoStageRouter(k=4, shortlist=8, alpha=0.0).route(logits, system=throttled)
    plain = TopKRouter(k=4).route(logits, system=throttled)
    np.testing.assert_array_equal(two_stage.experts, plain.experts)
    np.testing.assert_allclose(two_stage.weights, plain.weights, rtol=1e-6)


def test_alpha_moves_load_off_a_throttled_gpu(rng: np.random.Generator) -> None:
    logits = synthetic_logits(20000, 64, rng=rng, zipf_exponent=0.0)  # even demand: only speed differs
    throttled = system(np.array([0.6, 1, 1, 1, 1, 1, 1, 1]))  # slow, but above the backup threshold
    before = TwoStageRouter(k=4, alpha=0.0).route(logits, system=throttled).stats.gpu_load
    after = TwoStageRouter(k=4, alpha=0.5).route(logits, system=throttled).stats.gpu_load
    assert after[0] < 0.8 * before[0]
    assert after.sum() == before.sum()


def test_alpha_moves_load_off_a_long_queue(rng: np.random.Generator) -> None:
    logits = synthetic_logits(20000, 64, rng=rng, zipf_exponent=0.0)
    queue = np.zeros(8)
    queue[3] = 50_000
    before = TwoStageRouter(k=4, alpha=0.0).route(logits, system=system(np.ones(8), queue)).stats.gpu_load
    after = TwoStageRouter(k=4, alpha=0.5).route(logits, system=system(np.ones(8), queue)).stats.gpu_load
    assert after[3] < 0.8 * before[3]


def test_live_load_evens_out_an_idle_system(rng: np.random.Generator) -> None:
    skewed = synthetic_logits(20000, 64, rng=rng, zipf_exponent=1.2)
    healthy = system(np.ones(8))
    plain = TopKRouter(k=4).route(skewed, system=healthy).stats.balancedness
    mixed = TwoStageRouter(k=4, alpha=0.5, wave=512).route(skewed, system=healthy).stats.balancedness
    assert mixed > plain


def test_never_routes_to_a_failed_gpu(logits: np.ndarray) -> None:
    speed = np.ones(8)
    speed[[1, 6]] = 0.0
    routing = TwoStageRouter(k=4, alpha=0.2).route(logits, system=system(speed))
    assert not np.isin(routing.gpus, [1, 6]).any()
    assert not np.isin(routing.experts, np.flatnonzero(np.isin(EXPERT_GPU, [1, 6]))).any()


def test_chosen_experts_come_from_the_shortlist(logits: np.ndarray) -> None:
    routing = TwoStageRouter(k=4, shortlist=6, alpha=1.0).route(logits, system=system(np.ones(8)))
    shortlist = np.argsort(-logits, axis=1, kind="stable")[:, :6]
    assert all(np.isin(routing.experts[t], shortlist[t]).all() for t in range(0, 5000, 97))


def test_without_a_system_it_is_top_k(logits: np.ndarray) -> None:
    routing = TwoStageRouter(k=4, alpha=0.7).route(logits)
    np.testing.assert_array_equal(routing.experts, TopKRouter(k=4).route(logits).experts)
    assert routing.gpus is None


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="shortlist"):
        TwoStageRouter(k=8, shortlist=4)
    with pytest.raises(ValueError, match="alpha"):
        TwoStageRouter(alpha=1.5)
