"""SDC detectors and the rollback rule (a rollback never restores a corrupted state)."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.reliability.config import SdcDetector
from gigawatt.reliability.sdc import (
    Detector,
    Detectors,
    default_detectors,
    detectors_from,
    last_clean_checkpoint,
    rollback_on_grid,
)


def test_default_detectors_catch_65_percent():
    d = default_detectors()
    assert [x.kind for x in d.items] == ["loss_spike", "gradient_norm"]
    assert d.detected_share == pytest.approx(1 - 0.7 * 0.5)
    assert d.overhead == pytest.approx(0.001)


def test_sampled_latencies_follow_probability_latency_and_period():
    rng = np.random.default_rng(1)
    n = 200_000
    lat = default_detectors().sample_latency(rng, np.zeros(n))
    assert np.mean(np.isinf(lat)) == pytest.approx(0.35, abs=0.005)
    assert set(np.unique(lat[np.isfinite(lat)])) == {30.0, 120.0}  # the faster detector wins when both fire
    replay = Detectors((Detector("checksum_replay", 1.0, 120.0, 3600.0, 0.02),))
    onset = rng.uniform(0, 10 * 3600, n)
    wait = replay.sample_latency(rng, onset) - 120.0
    assert wait.min() > 0 and wait.max() <= 3600.0
    checks = (onset + wait) / 3600.0  # the alarm follows the next whole hour of progress
    assert np.allclose(checks, np.round(checks))


def test_settings_take_catalog_values_for_fields_left_out():
    d = detectors_from(
        [
            SdcDetector(kind="checksum_replay", period="30 min"),
            SdcDetector(kind="loss_spike", probability=0.9),
        ]
    )
    replay, spike = d.items
    assert (replay.probability, replay.period_s, replay.latency_s) == (0.99, 1800.0, 120.0)
    assert (spike.probability, spike.latency_s) == (0.9, 120.0)
    assert detectors_from([]).detected_share == 0.0
    assert detectors_from(None) is default_detectors()


def test_last_clean_checkpoint_is_at_or_before_the_onset():
    assert last_clean_checkpoint(100.0, [0.0, 50.0, 100.0, 150.0]) == 100.0
    assert last_clean_checkpoint(99.0, [0.0, 50.0, 100.0, 150.0]) == 50.0
    assert last_clean_checkpoint(10.0, [50.0]) is None


def test_rollback_on_grid_never_lands_after_the_onset_or_past_the_newest_durable_checkpoint():
    rng = np.random.default_rng(7)
    interval = 1800.0
    onset = rng.uniform(0, 1e6, 100_000)
    onset[:1000] = np.round(onset[:1000] / interval) * interval  # exactly on a checkpoint
    durable = np.floor((onset + rng.uniform(-3 * interval, 5 * interval, onset.size)) / interval) * interval
    target = rollback_on_grid(onset, durable, interval)
    assert np.all(target <= onset) and np.all(target <= durable)
    assert np.allclose(np.mod(target, interval), 0.0)
    newest_clean = np.floor(onset / interval) * interval
    assert np.all((target == newest_clean) | (target == durable))
