"""The coupled failure process: catalog rates, temperature, supply events, determinism, and agreement with
the Monte Carlo on a shared constant-temperature case."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np
import pytest

from gigawatt.reliability import montecarlo as mc
from gigawatt.reliability.components import catalog_components, component_names, with_overrides
from gigawatt.reliability.config import CheckpointPolicy, ComponentOverride, SupplyEventEffect
from gigawatt.reliability.hazard import SupplyEffect, arrhenius
from gigawatt.reliability.process import FailureProcess
from gigawatt.reliability.sdc import default_detectors

DAY = 86400.0


def _run(process: FailureProcess, days: float, dt: float, die=None, hbm=None, stress=None) -> list:
    out = []
    for k in range(int(days * DAY / dt)):
        out += process.step(k * dt, dt, die, hbm, stress)
    return out


def _only(name: str, **override) -> tuple:
    """Components with every other one switched off."""
    off = {n: ComponentOverride(enabled=False) for n in component_names() if n != name}
    return with_overrides({**off, name: ComponentOverride(**override)})


def test_same_seed_same_failures_and_a_different_seed_differs():
    die = np.full(1024, 70.0)
    a = _run(FailureProcess(1024, 8, seed=5), 100, 3600.0, die)
    b = _run(FailureProcess(1024, 8, seed=5), 100, 3600.0, die)
    c = _run(FailureProcess(1024, 8, seed=6), 100, 3600.0, die)
    assert a == b and len(a) > 5
    assert a != c


def test_rates_reproduce_the_catalog_at_the_reference_temperature():
    counts: Counter[str] = Counter()
    seeds = 3
    for seed in range(seeds):
        counts.update(f.component for f in _run(FailureProcess(16384, 8, seed), 54, 3600.0, 63.0, 68.0))
    share = default_detectors().detected_share
    for c in catalog_components():
        expected = seeds * c.count / (share if c.name == "sdc" else 1.0)
        assert abs(counts[c.name] - expected) <= 4.0 * np.sqrt(expected) + 1, c.name
    total = seeds * (419 - 6 + 6 / share)
    assert abs(sum(counts.values()) - total) <= 3.0 * np.sqrt(total)


def test_a_hotter_die_fails_more_by_the_arrhenius_factor():
    comps = _only("faulty_gpu", rate_multiplier=500.0, repair="1 s")
    cold = _run(FailureProcess(1024, 8, 1, comps), 1000 / 24, 3600.0, np.full(1024, 63.0))
    hot = _run(FailureProcess(1024, 8, 1, comps), 1000 / 24, 3600.0, np.full(1024, 73.0))
    ratio = len(hot) / len(cold)
    assert len(cold) > 3000
    assert ratio == pytest.approx(float(arrhenius(73.0, 63.0, 0.7)), rel=0.08)
    # With half the GPUs hot, failures land on the hot half in that same ratio.
    mixed = np.where(np.arange(1024) < 512, 73.0, 63.0)
    on_hot = np.array(
        [f.index < 512 for f in _run(FailureProcess(1024, 8, 2, comps), 1000 / 24, 3600.0, mixed)]
    )
    assert on_hot.sum() / (~on_hot).sum() == pytest.approx(ratio, rel=0.1)


def test_process_and_monte_carlo_agree_at_a_constant_hot_temperature():
    seeds, days, die = 3, 54.0, 73.0
    coupled: Counter[str] = Counter()
    for seed in range(seeds):
        coupled.update(f.component for f in _run(FailureProcess(16384, 8, seed), days, 3600.0, die))
    result = mc.run(
        None,
        CheckpointPolicy(),
        n_gpus=16384,
        gpus_per_node=8,
        horizon_s=days * DAY,
        checkpoint_bytes_per_gpu=2e9,
        trials=400,
        seed=9,
        die_temp_c=die,
    )
    sdc = result.causes.sdc
    hard = mc.Estimate.of(np.delete(result.interruptions, sdc, axis=1).sum(axis=1))
    onsets = mc.Estimate.of(result.sdc_onsets)
    for seen, est in ((sum(coupled.values()) - coupled["sdc"], hard), (coupled["sdc"], onsets)):
        # The coupled count is one Poisson draw per seed: its 95 % interval must hold the Monte Carlo's.
        half = 1.96 * np.sqrt(seeds * est.mean) + seeds * (est.high - est.low) / 2
        assert abs(seen - seeds * est.mean) <= half
    assert hard.mean > 419 * 1.3  # and both are well above the reference-temperature count


def test_a_drained_node_fails_no_more_until_repaired():
    comps = _only("psu", mtbf="100 h", repair="48 h")
    process = FailureProcess(64, 8, 3, comps)
    failures = _run(process, 30, 600.0)
    by_node: dict[int, list] = {}
    for f in failures:
        assert f.node == f.index and f.repair_s is not None and f.scope == "node"
        by_node.setdefault(f.node, []).append(f)
    for fs in by_node.values():
        for a, b in pairwise(fs):
            assert b.time_s >= a.time_s + a.repair_s
    last = failures[-1]
    assert process.nodes_down(last.time_s + 1.0)[last.node]


def test_supply_events_damage_at_onset_and_raise_the_hazard_after():
    supply = SupplyEffect.from_setting(SupplyEventEffect(probability_scale=100.0, aftermath_window="2 d"))
    process = FailureProcess(16384, 8, 4, _only("psu"), supply=supply)
    outage = np.ones(2048)
    at_onset = process.step(0.0, 1.0, None, None, outage)
    p = (
        100.0
        * catalog_components()[[c.name for c in catalog_components()].index("psu")].supply_event_probability
    )
    assert abs(len(at_onset) - p * 2048) <= 4 * np.sqrt(p * 2048)
    assert all(f.time_s == 0.0 and "supply event" in f.detail for f in at_onset)
    ongoing = process.step(1.0, 1.0, None, None, outage)
    assert not [f for f in ongoing if "supply event" in f.detail]  # damage comes with the onset only
    calm = np.zeros(2048)
    process.step(2.0, 1.0, None, None, calm)
    raised, up_then = process.rate_s, 2048 - process.nodes_down(2.0).sum()
    process.step(3 * DAY, 1.0, None, None, calm)
    up_later = 2048 - process.nodes_down(3 * DAY).sum()
    assert raised / process.rate_s == pytest.approx(5.0 * up_then / up_later)


def test_sdc_onsets_are_silent_and_get_a_detection_latency():
    process = FailureProcess(1024, 8, 8, _only("sdc", rate_multiplier=1e4))
    failures = _run(process, 2, 600.0)
    assert failures and all(f.silent and f.xid is None for f in failures)
    latencies = np.array([process.sdc_latency(3600.0) for _ in range(2000)])
    assert np.mean(np.isinf(latencies)) == pytest.approx(0.35, abs=0.05)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="multiple of gpus_per_node"):
        FailureProcess(100, 8, 0)


def test_acceleration_factors_are_refreshed_every_refresh_interval():
    process = FailureProcess(1024, 8, 0, refresh_s=60.0)
    cool, hot = np.full(1024, 63.0), np.full(1024, 83.0)
    process.step(0.0, 1.0, cool)
    base = process.rate_s
    process.step(1.0, 1.0, hot)
    assert process.rate_s == base  # held until the next refresh
    process.step(60.0, 1.0, hot)
    assert process.rate_s > 2.0 * base
    every_tick = FailureProcess(1024, 8, 0, refresh_s=0.0)
    every_tick.step(0.0, 1.0, cool)
    every_tick.step(1.0, 1.0, hot)
    assert every_tick.rate_s == process.rate_s
