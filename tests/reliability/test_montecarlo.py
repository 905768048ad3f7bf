"""The Monte Carlo: Llama 3 counts, 1/N scaling, closed forms on their assumptions, SDC rollback, policies."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.reliability import checkpoint as ck
from gigawatt.reliability import montecarlo as mc
from gigawatt.reliability.components import catalog_components, component_names
from gigawatt.reliability.config import CheckpointPolicy, ComponentOverride, ReliabilityConfig, SdcDetector
from gigawatt.reliability.hazard import arrhenius
from gigawatt.reliability.sdc import Detectors

DAY = 86400.0
LLAMA3 = {"n_gpus": 16384, "gpus_per_node": 8, "horizon_s": 54 * DAY, "checkpoint_bytes_per_gpu": 2e9}


def _ettr(rate_s: float, interval: float, blocking: float, restart: float, trials: int = 200) -> mc.Estimate:
    plan = mc.Plan(interval, blocking, 0.0, restart, 0)
    return mc.simulate(mc.Causes.single(rate_s), 8, 500.0 / rate_s, plan, Detectors(()), trials, seed=4).ettr


def test_same_seed_same_histories():
    a = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=50, seed=3)
    b = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=50, seed=3)
    c = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=50, seed=4)
    assert np.array_equal(a.interruptions, b.interruptions) and np.array_equal(a.progress_s, b.progress_s)
    assert not np.array_equal(a.interruptions, c.interruptions)


def test_llama3_interruptions_by_cause_at_the_reference_temperature():
    result = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=1000, seed=1)
    total = result.interruptions_total
    assert total.low - 1 <= 419 <= total.high + 1
    for c, est in zip(catalog_components(), result.interruptions_by_cause().values(), strict=True):
        assert abs(est.mean - c.count) <= 3 * (est.high - est.low) / 2 + 0.02 * c.count, c.name
    rows = result.table()
    assert rows[0][0] == "Faulty GPU" and sum(r[3] for r in rows) == pytest.approx(1.0)
    assert result.job_mttf_s.mean / 3600 == pytest.approx(54 * 24 / 419, rel=0.01)


def test_a_meta_rate_basis_gives_metas_job_mttf():
    rsc1 = mc.run(ReliabilityConfig(rate_basis="meta_rsc1"), CheckpointPolicy(), **LLAMA3, trials=300, seed=1)
    # Meta's projection for 16,384 GPUs at RSC-1's r_f: 1 / (2,048 nodes x 6.50 per 1000 node-days) = 1.8 h.
    assert rsc1.job_mttf_s.mean / 3600 == pytest.approx(1000 / 6.5 / 2048 * 24, rel=0.02)


def test_every_second_of_wall_time_is_accounted_for():
    result = mc.run(None, CheckpointPolicy(mode="async"), **LLAMA3, trials=100, seed=2)
    spent = (
        result.progress_s
        + result.lost_work_s.sum(axis=1)
        + result.downtime_s.sum(axis=1)
        + result.checkpoint_s
    )
    assert spent == pytest.approx(np.full(100, LLAMA3["horizon_s"]), rel=1e-9)
    lost = result.gpu_hours_lost()
    assert set(lost) == {*component_names(), "checkpoints", "sdc_detectors"}
    assert lost["faulty_gpu"].mean > lost["psu"].mean > 0


def test_mttf_scales_as_one_over_the_job_size():
    per_job = ReliabilityConfig(components={"dependency": ComponentOverride(enabled=False)})
    small, large = (
        mc.run(
            per_job,
            CheckpointPolicy(),
            n_gpus=n,
            gpus_per_node=8,
            horizon_s=400 * DAY,
            checkpoint_bytes_per_gpu=1e9,
            trials=200,
            seed=5,
        ).job_mttf_s
        for n in (1024, 8192)
    )
    assert small.mean / large.mean == pytest.approx(8.0, rel=0.04)


def test_ettr_matches_dalys_exact_expectation_on_his_assumptions():
    mttf = 3 * 3600.0
    for interval, blocking, restart in ((2400.0, 300.0, 600.0), (600.0, 30.0, 1800.0), (7200.0, 60.0, 0.0)):
        est = _ettr(1 / mttf, interval, blocking, restart)
        expected = ck.daly_expected_ettr(interval, blocking, restart, mttf)
        assert est.low - 1e-3 <= expected <= est.high + 1e-3


def test_monte_carlo_optimum_matches_daly_and_young():
    mttf, blocking, restart = 3 * 3600.0, 300.0, 600.0
    daly = ck.daly_interval(blocking, mttf)
    grid = daly * np.exp(np.linspace(-0.6, 0.6, 13))
    ettr = [_ettr(1 / mttf, t, blocking, restart).mean for t in grid]
    a, b, _ = np.polyfit(np.log(grid), ettr, 2)
    best = np.exp(-b / (2 * a))
    assert best == pytest.approx(daly, rel=0.05)
    assert best == pytest.approx(ck.young_interval(blocking, mttf), rel=0.15)
    assert ck.young_interval(blocking, mttf) > best  # Young's first-order optimum runs long


def test_ettr_matches_metas_formula_where_failures_are_rare():
    r_f, nodes, w, u0 = ck.from_per_1000_node_days(6.5), 128, 60.0, 600.0
    interval = ck.meta_optimal_interval(w, nodes, r_f)
    est = _ettr(nodes * r_f, interval, w, u0)
    assert est.mean == pytest.approx(ck.meta_expected_ettr(interval, w, u0, nodes, r_f), abs=0.003)


def test_a_rollback_never_restores_a_corrupted_state():
    # Frequent corruptions, a slow hourly replay check and asynchronous checkpoints: corrupted checkpoints
    # are often durable before the alarm, and failures often restore one.
    config = ReliabilityConfig(
        components={"sdc": ComponentOverride(rate_multiplier=60.0)},
        sdc_detectors=[SdcDetector(kind="checksum_replay", probability=0.9, period="2 h")],
    )
    policy = CheckpointPolicy(interval="fixed", every="20 min", mode="async")
    result = mc.run(config, policy, **LLAMA3, trials=100, seed=6, record=True)
    log = result.log
    assert log is not None
    detected = log.kind == mc.DETECTED
    assert detected.sum() > 1000
    assert np.all(log.restored_s[detected] <= log.sdc_onset_s[detected])
    assert np.all(log.progress_s[detected] >= log.sdc_onset_s[detected])
    # The rule matters: most alarms found newer, corrupted checkpoints to skip.
    assert np.mean(log.progress_s[detected] - log.restored_s[detected] > 1200.0) > 0.5
    restored_corrupt = (log.kind == mc.FAILURE) & (log.restored_s > log.sdc_onset_s)
    assert restored_corrupt.sum() > 10
    # A failure that restores a corrupted checkpoint leaves the corruption pending: the trial's next alarm
    # still rolls back to before that same onset.
    for i in np.flatnonzero(restored_corrupt)[:50]:
        later = np.flatnonzero((log.trial == log.trial[i]) & (log.time_s > log.time_s[i]) & detected)
        if later.size:
            assert log.sdc_onset_s[later[0]] <= log.sdc_onset_s[i]


def test_detectors_trade_escapes_for_overhead():
    often = {"sdc": ComponentOverride(rate_multiplier=20.0)}
    none = mc.run(
        ReliabilityConfig(components=often, sdc_detectors=[]),
        CheckpointPolicy(),
        **LLAMA3,
        trials=100,
        seed=7,
    )
    checked = ReliabilityConfig(
        components=often, sdc_detectors=[SdcDetector(kind="checksum_replay", probability=1.0)]
    )
    replay = mc.run(checked, CheckpointPolicy(), **LLAMA3, trials=100, seed=7)
    assert none.interruptions[:, none.causes.sdc].sum() == 0
    assert none.sdc_escapes_per_run.mean > 20 * replay.sdc_escapes_per_run.mean
    assert none.corrupted_fraction.mean > 0.5 > replay.corrupted_fraction.mean
    assert replay.goodput_fraction.mean < replay.ettr.mean  # the replay costs throughput


def test_spares_and_asynchronous_checkpoints_pay_off():
    def ettr(config: ReliabilityConfig | None, policy: CheckpointPolicy) -> float:
        return mc.run(config, policy, **LLAMA3, trials=100, seed=8).ettr.mean

    sync = CheckpointPolicy(store_share=0.1)
    wait = ettr(ReliabilityConfig(spares={"policy": "wait_for_repair"}), sync)
    few = ettr(ReliabilityConfig(spares={"pool_nodes": 2}), sync)
    many = ettr(ReliabilityConfig(spares={"pool_nodes": 64}), sync)
    assert wait < few < many
    assert ettr(None, CheckpointPolicy(store_share=0.1, mode="async")) > ettr(None, sync) + 0.01


def test_a_hotter_die_interrupts_more_by_the_arrhenius_factor():
    ref = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=300, seed=9)
    hot = mc.run(None, CheckpointPolicy(), **LLAMA3, trials=300, seed=9, die_temp_c=73.0)
    gpu = [i for i, c in enumerate(catalog_components()) if c.temperature == "die" and c.name != "sdc"]
    ratio = hot.interruptions[:, gpu].sum() / ref.interruptions[:, gpu].sum()
    assert ratio == pytest.approx(arrhenius(73.0, 63.0, 0.7), rel=0.03)
    psu = component_names().index("psu")
    assert hot.interruptions[:, psu].mean() == pytest.approx(ref.interruptions[:, psu].mean(), rel=0.15)
    assert hot.ettr.mean < ref.ettr.mean


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="multiple of gpus_per_node"):
        mc.run(
            None, CheckpointPolicy(), n_gpus=12, gpus_per_node=8, horizon_s=DAY, checkpoint_bytes_per_gpu=1e9
        )
    with pytest.raises(ValueError, match="trials must be 2 or more"):
        mc.run(None, CheckpointPolicy(), **LLAMA3, trials=1)
    with pytest.raises(ValueError, match="horizon must be longer"):
        mc.run(None, CheckpointPolicy(), **{**LLAMA3, "horizon_s": 0.0})
    with pytest.raises(ValueError, match="interval must be longer"):
        mc.Plan(0.0, 1.0, 0.0, 1.0, 0)
