import numpy as np

from gigawatt.moe import ExpertMap, SystemView, TopKRouter
from gigawatt.moe.routing import routing_stats


def test_counters_of_a_hand_made_batch() -> None:
    experts = np.array([[0, 1], [1, -1], [-1, -1], [3, 1]], dtype=np.int32)
    gpus = np.array([[0, 0], [0, -1], [-1, -1], [1, 0]], dtype=np.int32)
    stats = routing_stats(experts, gpus, n_experts=4, n_gpus=2, n_shared=1, dropped=3, rerouted=1)
    np.testing.assert_array_equal(stats.expert_load, [1, 3, 0, 1])
    np.testing.assert_array_equal(stats.gpu_load, [4, 1])
    np.testing.assert_array_equal(stats.k_hist, [1, 1, 2])
    np.testing.assert_array_equal(stats.shared_load, [4])
    assert stats.balancedness == 2.5 / 4
    assert stats.n_tokens == 4 and stats.mean_k == 5 / 4
    assert (stats.dropped, stats.rerouted, stats.overflow) == (3, 1, 0)


def test_gpu_load_follows_the_expert_map(logits: np.ndarray) -> None:
    expert_map = ExpertMap.from_expert_gpu(np.arange(64) // 16)
    stats = TopKRouter(k=2).route(logits, system=SystemView(expert_map=expert_map)).stats
    assert stats.gpu_load is not None
    np.testing.assert_array_equal(stats.gpu_load, stats.expert_load.reshape(4, 16).sum(axis=1))
    assert stats.balancedness == stats.gpu_load.mean() / stats.gpu_load.max()
