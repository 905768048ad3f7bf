"""Training in the coupled loop: synchrony, stragglers, phases, energy balance, determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gigawatt.engine import Engine
from gigawatt.results import summary_json
from gigawatt.summary import summarize
from gigawatt.workload.training.job import TrainingJob
from helpers import scenario

WORKLOAD = {
    "kind": "training",
    "model": "Llama-3.1-8B",
    "sequence_length": 4096,
    "global_batch_sequences": 64,
    "micro_batch": 1,
    "parallel": {"tensor": 2, "pipeline": 4, "data": 4},
    "recompute": "selective",
}


def small(**changes):
    return scenario("balanced", **{"workload": WORKLOAD, "duration": "3 min", **changes})


def run(**changes):
    result = Engine(small(**changes)).run()
    return result, summarize(result)


def test_training_closes_the_energy_balance_and_reports_its_metrics():
    result, s = run()
    assert abs(s["energy_balance_relative_error"]) < 1e-3
    t = s["training"]
    assert t["steps"] > 5 and 0.2 < t["mfu"] < 0.7
    assert t["step_time_s"]["p50"] >= t["step_time_s"]["unthrottled"]
    assert s["throughput_tokens_per_s"] == pytest.approx(t["tokens_per_s"])
    assert 0 < t["bubble_fraction"] < 0.5
    assert set(t["exposed_communication_s_per_step"]) == {
        "tensor_parallel", "context_parallel", "expert_parallel", "pipeline_parallel", "data_parallel"
    }
    assert result.workload.tables()["steps"].num_rows == len(result.workload.step_lengths)


def test_same_scenario_and_seed_give_identical_summaries():
    _, a = run()
    _, b = run()
    assert summary_json(a) == summary_json(b)


def test_one_hot_gpu_slows_every_gpu_of_the_job():
    event = {"kind": "thermal_interface_degradation", "at": "30 s", "duration": "3 min", "gpus": [5],
             "factor": 15}
    _, healthy = run()
    _, hot = run(**{"cooling.events": [event]})
    assert hot["throttle_fraction"]["thermal"] < 0.05  # one GPU of 32 throttles ...
    assert hot["throughput_tokens_per_s"] < 0.9 * healthy["throughput_tokens_per_s"]  # ... the job slows
    assert hot["training"]["straggler"]["slowest_gpu"] == 5
    assert hot["training"]["straggler"]["cost_fraction"] > 0.1
    assert "the slowest GPU (GPU 5)" in hot["chain"]


def test_a_job_stops_while_any_gpu_is_down_and_loses_the_step_in_flight():
    job = TrainingJob(small(), Engine(small()).gpu)
    work = job.step(0, 0.0, 1.0, job.top, None)
    assert work.served[0] > 0 and 0 < job.phase < 1
    phase = job.phase
    up = np.ones(job.n, dtype=bool)
    up[7] = False
    stalled = job.step(1, 1.0, 1.0, job.top, up)
    assert stalled.served[0] == 0 and np.all(stalled.busy == 0) and job.phase == phase
    job.lose_work(np.array([7]), 2.0)
    assert job.phase == 0.0 and job.lost_tokens == pytest.approx(phase * job.tokens_per_step)


def test_phases_tile_the_tick_and_count_finished_steps():
    job = TrainingJob(small(), Engine(small()).gpu)
    durations = (0.1, 2.0, 0.1, 0.3, 0.05)
    shares, done = job._advance(1.0, durations)
    assert shares.sum() == pytest.approx(1.0) and done == 0
    shares, done = job._advance(6.0, durations)  # 1.0 + 6.0 s = 2 full steps of 2.55 s and then some
    assert shares.sum() == pytest.approx(1.0) and done == 2
    assert job.phase == pytest.approx((7.0 - 2 * 2.55) / 2.55)


def test_sub_second_ticks_resolve_the_power_swing_at_step_boundaries():
    coarse = run(duration="2 min")[1]["facility_power_swing"]
    fine = run(duration="2 min", tick="0.1 s", **{"recording.interval": "1 s"})[1]["facility_power_swing"]
    assert fine["resolution_s"] == 0.1
    assert fine["amplitude_mw"] > coarse["amplitude_mw"] > 0
    assert fine["ramp_max_mw_per_s"] > 3 * coarse["ramp_max_mw_per_s"]


def test_training_summary_holds_no_nan_or_infinity():
    # summary_json would write a NaN as null and hide it: the raw figures must all be finite numbers.
    _, s = run(duration="1 min")

    def numbers(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield float(value)

    found = list(numbers(s["training"]))
    assert len(found) > 20 and all(math.isfinite(x) for x in found)
    assert json.loads(summary_json(s))["training"]["step_time_s"]["p99"] is not None
