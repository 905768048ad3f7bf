"""Checkpoints, rollbacks and restarts of a training job; the loop against the Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gigawatt.engine import Engine
from gigawatt.reliability.config import CheckpointPolicy
from gigawatt.reliability.montecarlo import run as monte_carlo
from gigawatt.reliability.restart import RestartTimes
from gigawatt.summary import summarize
from gigawatt.workload.training.recovery import JobRecovery
from helpers import scenario


def recovery(**policy) -> JobRecovery:
    p = CheckpointPolicy(**{"interval": "fixed", "every": "100 s", **policy})
    rec = JobRecovery(p, RestartTimes(60.0, 30.0), 1e9, 64, 8, step_s=10.0)
    rec.set_failure_rate(1e-4)
    return rec


def test_a_checkpoint_falls_every_interval_and_an_interruption_returns_to_it():
    rec = recovery()
    assert rec.interval_steps == pytest.approx(10.0)  # 100 s of progress at 10 s a step
    assert not rec.due(9.9) and rec.due(10.0)
    blocking = rec.take(10.0, now=500.0)
    assert blocking > 0 and rec.durable(500.0 + blocking) == [0.0, 10.0]
    target = rec.interrupt(steps=17.5, now=600.0, cause="faulty_gpu", held_s=30.0)
    assert target == 10.0 and rec.ledger.lost_steps["faulty_gpu"] == pytest.approx(7.5)
    assert rec.pending_restart and rec.held_until == 630.0
    assert rec.restart_s() == pytest.approx(30.0 + rec.cost.read_s)


def test_an_async_checkpoint_is_not_there_to_roll_back_to_until_it_is_durable():
    rec = recovery(mode="async")
    rec.take(10.0, now=500.0)
    lag = rec.cost.blocking_s + rec.cost.durability_lag_s
    assert rec.cost.durability_lag_s > 0
    assert rec.interrupt(12.0, now=500.0 + 0.5 * lag, cause="hbm", held_s=0.0) == 0.0
    assert rec.interrupt(12.0, now=500.0 + lag, cause="hbm", held_s=0.0) == 10.0


def test_a_caught_corruption_rolls_back_before_its_onset_never_to_a_corrupted_state():
    rng = np.random.default_rng(1)
    caught = 0
    for _ in range(200):
        rec = recovery()
        steps, now, onset = 0.0, 0.0, None
        begins = float(rng.uniform(1.0, 60.0))
        for _ in range(120):  # train, checkpointing as it goes, with one corruption a detector catches
            if rec.due(steps):
                now += rec.take(steps, now)
            if onset is None and steps >= begins:
                onset = steps
                rec.corrupt(steps, latency_s=float(rng.uniform(0.0, 300.0)))
            steps += 1.0
            now += 10.0
            target = rec.detected(steps, now)
            if target is not None:
                assert onset is not None and target <= onset  # the state restored predates the corruption
                assert target in rec.durable(now)
                caught += 1
                break
    assert caught == 200


def test_an_uncaught_corruption_is_an_escape():
    rec = recovery()
    rec.corrupt(5.0, latency_s=math.inf)
    assert rec.ledger.sdc_escapes == 1 and not rec.corruptions and rec.detected(1e6, 1e9) is None


def test_the_loop_and_the_monte_carlo_agree_on_interruptions():
    # One failure class made frequent on 32 GPUs over two days: the loop's count against the Monte Carlo's
    # mean at the loop's own die temperatures (a Poisson count: within 3.3 sigma).
    components = {name: {"enabled": False} for name in ("software", "network", "host_maintenance", "sdc")}
    components["faulty_gpu"] = {"rate_multiplier": 10000}
    reliability = {"components": components}
    workload = {
        "kind": "training",
        "model": "Llama-3.1-8B",
        "sequence_length": 4096,
        "global_batch_sequences": 64,
        "parallel": {"tensor": 2, "pipeline": 4, "data": 4},
        "checkpoint": {"interval": "fixed", "every": "20 min"},
    }
    sc = scenario(
        "balanced",
        **{"workload": workload, "reliability": reliability, "duration": "2 d", "tick": "60 s",
           "recording.interval": "1 h", "recording.level": "rack"},
    )
    engine = Engine(sc)
    # The loop's hazard follows each tick's die temperatures (lower while the job waits out a restart); the
    # Monte Carlo takes one temperature per GPU, so give it the run's mean rather than the last tick's.
    temps: list[np.ndarray] = []
    step = engine.outages.step

    def spy(now, dt, die_temp_c, stress):
        temps.append(die_temp_c.copy())
        return step(now, dt, die_temp_c, stress)

    engine.outages.step = spy
    result = engine.run()
    s = summarize(result)
    loop = s["training"]["reliability"]["interruptions_by_cause"].get("faulty_gpu", 0)
    mc = monte_carlo(
        sc.reliability,
        sc.workload.checkpoint,
        n_gpus=32,
        gpus_per_node=8,
        horizon_s=2 * 86400.0,
        checkpoint_bytes_per_gpu=result.workload.recovery.bytes_per_gpu,
        trials=400,
        seed=3,
        die_temp_c=np.mean(temps, axis=0),
    )
    expected = mc.interruptions_by_cause()["faulty_gpu"].mean
    assert expected > 20
    assert abs(loop - expected) <= 3.3 * math.sqrt(expected), (loop, expected)
    assert 0.5 < s["training"]["reliability"]["ettr"] < 1.0
