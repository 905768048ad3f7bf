"""A cap below the lowest clock's power is reported as unmet, never silently exceeded."""

import numpy as np

from gigawatt.engine import Engine
from gigawatt.power.cap_floor import cap_excess_w
from gigawatt.summary import summarize
from helpers import scenario

# Decode-heavy serving under the H100's minimum settable cap: at 345 MHz the GPUs with the most
# part-to-part spread (10 % sigma, up to +30 %) still draw more than 200 W.
DECODE_AT_MIN_CAP = {
    "workload.batch_size": 256,
    "cluster.variation.power": 0.1,
    "workload.prompt_tokens": 256,
    "workload.output_tokens": 2048,
    "power.gpu_power_limit": "200 W",
    "duration": "3 min",
    "recording.interval": "1 s",
}


def test_cap_excess_counts_only_unmet_gpus():
    power = np.array([210.0, 190.0, 230.0])
    cap = np.full(3, 200.0)
    assert list(cap_excess_w(power, cap, np.array([True, True, False]))) == [10.0, 0.0, 0.0]


def test_gpus_over_their_cap_are_at_the_lowest_clock_and_reported():
    result = Engine(scenario("balanced", **DECODE_AT_MIN_CAP)).run()
    s = summarize(result)
    unmet = s["power_cap_unmet"]
    assert unmet["gpu_time_fraction"] > 0 and unmet["excess_w_max"] > 0
    assert result.events.count("power_cap_unmet") > 0
    assert "over its cap at the lowest clock" in s["chain"]
    ts = result.timeseries
    power = np.asarray(ts.column("DCGM_FI_DEV_POWER_USAGE"))
    clock = np.asarray(ts.column("DCGM_FI_DEV_SM_CLOCK"))
    over = power > 200.0 + 1e-6
    assert over.any() and np.all(clock[over] == 345.0)  # only a GPU at its lowest clock exceeds its cap
    assert power.max() - 200.0 <= unmet["excess_w_max"] + 1e-6  # and every excess is counted


def test_a_reachable_cap_is_met():
    changes = {**DECODE_AT_MIN_CAP, "power.gpu_power_limit": "400 W"}
    s = summarize(Engine(scenario("balanced", **changes)).run())
    assert s["power_cap_unmet"]["gpu_time_fraction"] == 0.0
