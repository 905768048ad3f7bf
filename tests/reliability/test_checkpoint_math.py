"""Checkpoint intervals, expected ETTR and storage-tier write times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gigawatt.reliability import checkpoint as ck
from gigawatt.reliability.config import CheckpointPolicy


def test_young_and_daly_intervals():
    assert ck.young_interval(300.0, 10800.0) == pytest.approx(math.sqrt(2 * 300 * 10800))
    # Daly tends to Young as the checkpoint gets cheap, and runs shorter for a costly one.
    assert ck.daly_interval(1.0, 1e6) / ck.young_interval(1.0, 1e6) == pytest.approx(1.0, abs=2e-3)
    assert ck.daly_interval(300.0, 10800.0) < ck.young_interval(300.0, 10800.0)
    assert ck.daly_interval(5000.0, 2000.0) == 2000.0


def test_daly_interval_is_near_the_optimum_of_his_exact_model():
    mttf, delta, restart = 11135.0, 300.0, 600.0
    grid = np.linspace(1000, 5000, 40001)
    best = grid[np.argmax([ck.daly_expected_ettr(t, delta, restart, mttf) for t in grid])]
    assert ck.daly_interval(delta, mttf) == pytest.approx(best, rel=2e-3)
    assert ck.young_interval(delta, mttf) == pytest.approx(best, rel=0.1)


def test_meta_formula_and_its_optimum():
    r_f = ck.from_per_1000_node_days(6.5)
    assert ck.per_1000_node_days(r_f) == pytest.approx(6.5)
    nodes, w, u0 = 128, 60.0, 600.0
    best = ck.meta_optimal_interval(w, nodes, r_f)
    grid = best * np.linspace(0.5, 1.5, 1001)
    values = [ck.meta_expected_ettr(t, w, u0, nodes, r_f) for t in grid]
    assert grid[int(np.argmax(values))] == pytest.approx(best, rel=0.02)
    # No failures and free checkpoints: every second is productive.
    assert ck.meta_expected_ettr(3600.0, 0.0, u0, nodes, 0.0) == 1.0


def test_shared_store_write_is_bound_by_its_share_or_by_the_nodes_links():
    total, nodes = 16384 * 2e9, 2048
    tectonic = ck.shared_store_seconds(total, nodes, 2e12, 50e9)
    assert tectonic == pytest.approx(total / 2e12)
    assert ck.shared_store_seconds(total, nodes, 2e12, 50e9, share=0.5) == pytest.approx(2 * tectonic)
    small = ck.shared_store_seconds(8 * 2e9, 1, 2e12, 50e9, commit_s=5.0)
    assert small == pytest.approx(16e9 / 50e9 + 5.0)


def test_checkpoint_cost_by_tier_and_mode():
    gb2 = 2e9
    sync = ck.checkpoint_cost(CheckpointPolicy(), gb2, 16384, 8)
    assert sync.write_s == pytest.approx(16384 * gb2 / 2e12 + 5.0)
    assert sync.blocking_s == sync.write_s and sync.durability_lag_s == 0.0
    assert sync.snapshot_s == pytest.approx(gb2 / 64e9)
    slow = ck.checkpoint_cost(CheckpointPolicy(mode="async"), gb2, 16384, 8)
    assert slow.blocking_s == pytest.approx(sync.snapshot_s + 0.02 * sync.write_s)
    assert slow.durability_lag_s == pytest.approx(0.98 * sync.write_s)
    assert slow.blocking_s < sync.blocking_s / 5
    contended = ck.checkpoint_cost(CheckpointPolicy(store_share=0.25), gb2, 16384, 8)
    assert contended.write_s - 5.0 == pytest.approx(4 * (sync.write_s - 5.0))
    nvme = ck.checkpoint_cost(CheckpointPolicy(storage="local_nvme"), gb2, 16384, 8)
    assert nvme.write_s == pytest.approx(2 * 8 * gb2 / 12e9)  # own shard + a peer's on a 12 GB/s device
    assert nvme.read_s == pytest.approx(8 * gb2 / 25e9)
    peer = ck.checkpoint_cost(CheckpointPolicy(storage="peer_memory"), gb2, 16384, 8)
    assert peer.write_s == pytest.approx(8 * gb2 / 100e9)
    assert peer.write_s < nvme.write_s < sync.write_s
    with pytest.raises(ValueError, match="must not be negative"):
        ck.checkpoint_cost(CheckpointPolicy(), -1.0, 8, 8)


def test_interval_policies():
    cost = ck.checkpoint_cost(CheckpointPolicy(), 2e9, 16384, 8)
    mttf = 3 * 3600.0
    assert ck.checkpoint_interval(CheckpointPolicy(interval="young"), cost, mttf) == pytest.approx(
        ck.young_interval(cost.blocking_s, mttf)
    )
    assert ck.checkpoint_interval(CheckpointPolicy(), cost, mttf) == pytest.approx(
        ck.daly_interval(cost.blocking_s, mttf)
    )
    fixed = CheckpointPolicy(interval="fixed", every="10 min")
    assert ck.checkpoint_interval(fixed, cost, mttf) == 600.0
    upload = ck.checkpoint_cost(CheckpointPolicy(mode="async", store_share=0.01), 2e9, 16384, 8)
    assert upload.write_s > 600.0
    with pytest.raises(ValueError, match="shorter than the"):
        ck.checkpoint_interval(CheckpointPolicy(interval="fixed", every="10 min", mode="async"), upload, mttf)
    young_async = ck.checkpoint_interval(CheckpointPolicy(interval="young", mode="async"), upload, mttf)
    assert young_async == pytest.approx(upload.write_s)
    free = ck.CheckpointCost(write_s=0.0, read_s=0.0, snapshot_s=0.0, blocking_s=0.0, durability_lag_s=0.0)
    with pytest.raises(ValueError, match="use interval fixed"):
        ck.checkpoint_interval(CheckpointPolicy(interval="young"), free, mttf)
