import math

import numpy as np

from gigawatt.moe import CapacityRouter, TopKRouter


def test_capacity_is_never_exceeded(logits: np.ndarray) -> None:
    router = CapacityRouter(k=2, capacity_factor=1.0)
    routing = router.route(logits)
    capacity = math.ceil(1.0 * 5000 * 2 / 64)
    assert router.capacity(5000, 64) == capacity
    assert routing.stats.expert_load.max() <= capacity
    assert routing.stats.overflow > 0  # the skewed stream does overflow
    assert routing.stats.dropped == routing.stats.overflow
    assert routing.stats.expert_load.sum() == 2 * 5000 - routing.stats.dropped


def test_no_drops_when_capacity_suffices(logits: np.ndarray) -> None:
    routing = CapacityRouter(k=2, capacity_factor=64.0).route(logits)
    assert routing.stats.dropped == routing.stats.overflow == 0
    np.testing.assert_array_equal(routing.experts, TopKRouter(k=2).route(logits).experts)


def test_later_tokens_overflow_first() -> None:
    logits = np.tile(np.array([[3.0, 2.0, 1.0, 0.0]], dtype=np.float32), (8, 1))  # everyone wants 0 then 1
    routing = CapacityRouter(k=1, capacity_factor=1.0).route(logits)  # capacity ceil(8 / 4) = 2
    np.testing.assert_array_equal(routing.experts[:, 0], [0, 0, -1, -1, -1, -1, -1, -1])
    assert routing.weights[2:].sum() == 0.0
    np.testing.assert_array_equal(routing.stats.k_hist, [6, 2])
