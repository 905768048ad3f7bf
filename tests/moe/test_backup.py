import numpy as np
import pytest

from gigawatt.moe import (
    ROUTERS,
    BackupPolicy,
    ExpertMap,
    GpuState,
    SystemView,
    TopKRouter,
    make_router,
    place,
    replay,
)


def test_never_routes_to_a_failed_gpu_for_any_router(logits: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    expert_map = ExpertMap.from_expert_gpu(np.arange(64) % 16)
    for trial in range(5):
        speed = rng.uniform(0.2, 1.0, 16)
        failed = rng.choice(16, 4 + trial, replace=False)
        speed[failed] = 0.0
        system = SystemView(expert_map=expert_map, gpus=GpuState.of(speed, rng.uniform(0, 50, 16)))
        for name in ROUTERS:
            options = {"n_groups": 4, "topk_groups": 2} if name == "group_limited" else {}
            routing = make_router(name, k=4, **options).route(logits, system=system, rng=rng)
            assert routing.gpus is not None
            assert not np.isin(routing.gpus, failed).any(), name
            assert ((routing.gpus >= 0) == (routing.experts >= 0)).all(), name
            assert routing.stats.gpu_load is not None and (routing.stats.gpu_load[failed] == 0).all(), name


def test_replica_takes_over_when_the_home_gpu_fails() -> None:
    # Expert e lives on GPU e with a replica on GPU e + 4.
    expert_map = ExpertMap(np.array([[0, 4], [1, 5], [2, 6], [3, 7]], dtype=np.int32), n_gpus=8)
    speed = np.ones(8)
    speed[0] = 0.0
    logits = np.tile(np.array([[4.0, 3.0, 2.0, 1.0]], dtype=np.float32), (100, 1))
    routing = TopKRouter(k=1).route(logits, system=SystemView(expert_map=expert_map, gpus=GpuState.of(speed)))
    assert (routing.experts == 0).all() and (routing.gpus == 4).all()
    assert routing.stats.rerouted == 50  # half the tokens were planned on GPU 0, half on its replica
    healthy = TopKRouter(k=1).route(logits, system=SystemView(expert_map=expert_map))
    np.testing.assert_array_equal(healthy.stats.gpu_load, [50, 0, 0, 0, 50, 0, 0, 0])
    assert healthy.stats.rerouted == 0


def test_next_best_expert_when_there_is_no_replica() -> None:
    expert_map = ExpertMap.from_expert_gpu(np.arange(4))
    logits = np.tile(np.array([[4.0, 3.0, 2.0, 1.0]], dtype=np.float32), (10, 1))
    throttled = SystemView(expert_map=expert_map, gpus=GpuState.of([0.3, 1.0, 1.0, 1.0]))
    routing = TopKRouter(k=2).route(logits, system=throttled)
    np.testing.assert_array_equal(routing.experts, [[2, 1]] * 10)  # expert 0 replaced by the third best
    assert routing.stats.rerouted == 10
    np.testing.assert_allclose(routing.weights.sum(axis=1), 1.0, rtol=1e-6)


def test_overloaded_gpu_is_avoided() -> None:
    expert_map = ExpertMap.from_expert_gpu(np.arange(4))
    logits = np.tile(np.array([[4.0, 3.0, 2.0, 1.0]], dtype=np.float32), (10, 1))
    busy = SystemView(expert_map=expert_map, gpus=GpuState.of(np.ones(4), [500.0, 0, 0, 0]))
    routing = TopKRouter(k=1, backup=BackupPolicy(max_queue=100.0)).route(logits, system=busy)
    assert (routing.experts == 1).all()


def test_slow_replica_is_kept_when_nothing_better_exists_and_dead_ones_are_dropped() -> None:
    expert_map = ExpertMap.from_expert_gpu(np.arange(2))
    logits = np.tile(np.array([[2.0, 1.0]], dtype=np.float32), (5, 1))
    slow = SystemView(expert_map=expert_map, gpus=GpuState.of([0.1, 0.0]))
    routing = TopKRouter(k=2).route(logits, system=slow)
    np.testing.assert_array_equal(routing.experts, [[0, -1]] * 5)
    np.testing.assert_array_equal(routing.gpus, [[0, -1]] * 5)
    assert routing.stats.dropped == 5 and routing.stats.rerouted == 0


def test_placement_replicas_spread_load(logits: np.ndarray) -> None:
    load = TopKRouter(k=2).route(logits).stats.expert_load
    placement = place(load, n_slots=80, n_groups=8, n_nodes=2, n_gpus=8)
    expert_map = ExpertMap.from_placement(placement)
    assert (expert_map.replica_gpu >= 0).sum() == 80
    routing = TopKRouter(k=2).route(logits, system=SystemView(expert_map=expert_map))
    assert routing.stats.gpu_load is not None
    assert routing.stats.balancedness > 0.9
    np.testing.assert_allclose(1 / routing.stats.balancedness, placement.max_over_mean[0], rtol=0.05)


def test_replay_of_recorded_ids() -> None:
    ids = np.array([[0, 1], [1, -1], [3, 2]])
    routing = replay(ids, 4)
    np.testing.assert_allclose(routing.weights, [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_array_equal(routing.stats.k_hist, [0, 1, 2])
    down = SystemView(expert_map=ExpertMap.from_expert_gpu(np.arange(4)), gpus=GpuState.of([1, 0, 1, 1]))
    routed = replay(ids, 4, system=down)
    assert routed.stats.dropped == 2 and not (routed.experts == 1).any()
    with pytest.raises(ValueError, match="expert_ids"):
        replay(np.array([[4]]), 4)
