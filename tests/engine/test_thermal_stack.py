"""The thermal stack in the loop: stored heat in the new masses, pump-stop timing, HBM temperature and its
throttle, leakage under a power cap and server fans on air-cooled nodes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gigawatt.engine import Engine
from gigawatt.governor import SW_THERMAL_SLOWDOWN
from gigawatt.thermal import stack
from helpers import scenario

AIR = {
    "cooling.kind": "air",
    "cooling.air.heat_sink_resistance": "0.06 K/W",
    "cooling.air.crah_capacity": "60 kW",
}
ALL_PUMPS_STOP = [{"kind": "pump_failure", "at": "5 min", "duration": "1 h", "units": [0], "pumps": 2}]
DECODE = {"workload.batch_size": 8, "workload.prompt_tokens": 128, "workload.output_tokens": 2048}


def run(name: str, **changes):
    engine = Engine(scenario(name, **changes))
    return engine, engine.run()


def column(result, name: str) -> np.ndarray:
    return np.asarray(result.timeseries.column(name))


def test_energy_balance_with_heat_held_in_the_stack():
    """The run ends with all pumps stopped: package, cold plates and trapped coolant hold heat, and the
    balance still closes to 0.1 %."""
    engine, result = run("cdu-pump-failure", duration="320 s", **{"cooling.events": ALL_PUMPS_STOP})
    tot = result.totals
    net = engine.net
    in_stack = float((net.stored(engine.case_t, engine.sink_t) - net.stored(34.0, 34.0)).sum())
    assert in_stack > 0.02 * tot.gpu_energy_j  # 20 s without flow: a visible share of the GPUs' energy
    heat = tot.heat_to_liquid_j + tot.heat_to_air_j + result.stored_heat_j
    assert abs(tot.it_energy_j - heat) <= 1e-3 * tot.it_energy_j


def test_energy_balance_air_cooled_with_fans_and_long_ticks():
    changes = {**AIR, "recording.interval": "70 s", "cooling.air.supply": "30 C"}
    engine, result = run("balanced", tick="7 s", **changes)
    tot = result.totals
    assert engine.fan_w.sum() > 0
    heat = tot.heat_to_liquid_j + tot.heat_to_air_j + result.stored_heat_j
    assert abs(tot.it_energy_j - heat) <= 1e-3 * tot.it_energy_j


def test_time_to_87_c_after_all_pumps_stop():
    """Package, cold plate and trapped coolant hold the dies off their limit for tens of seconds (the lumped
    80 J/K die took 4.5 s)."""
    _, result = run(
        "cdu-pump-failure",
        duration="8 min",
        **{"cooling.events": ALL_PUMPS_STOP, "recording.interval": "1 s"},
    )
    fac = result.facility
    t, hottest = np.asarray(fac.column("time_s")), np.asarray(fac.column("gpu_temp_max_c"))
    reached = t[(t > 300) & (hottest >= 86.9)]
    assert len(reached)
    assert 15.0 <= reached[0] - 300.0 <= 40.0


def test_hbm_runs_hotter_than_the_die_under_memory_traffic():
    _, decode = run("balanced", duration="5 min", **DECODE)
    _, prefill = run(
        "balanced",
        duration="5 min",
        **{"workload.batch_size": 64, "workload.prompt_tokens": 4096, "workload.output_tokens": 64},
    )

    def gap(result):
        hbm, die = column(result, "DCGM_FI_DEV_MEMORY_TEMP"), column(result, "DCGM_FI_DEV_GPU_TEMP")
        return float(np.mean(hbm - die))

    assert gap(decode) > gap(prefill) + 2.0
    assert gap(decode) > 0


def test_memory_throttles_at_its_limit(monkeypatch):
    """A hot HBM path (3× the catalog's resistance) under warm water: the memory reaches 95 C first and the
    driver's SwThermalSlowdown lowers the clocks to hold it there while the die is still well below 87 C."""
    hot = dataclasses.replace(stack.gpu_thermal("H100-SXM"), hbm_to_case=0.3)
    monkeypatch.setattr("gigawatt.engine.stack.gpu_thermal", lambda name: hot)
    warm = [{"kind": "supply_temperature_rise", "at": "2 min", "duration": "1 h", "rise": "30 C"}]
    _, result = run("cdu-pump-failure", duration="12 min", **{"cooling.events": warm})
    mem, die = column(result, "DCGM_FI_DEV_MEMORY_TEMP"), column(result, "DCGM_FI_DEV_GPU_TEMP")
    flags = column(result, "DCGM_FI_DEV_CLOCKS_EVENT_REASONS")
    assert mem.max() >= 94.5
    assert mem.max() <= 95.0 + 1.0  # held at the limit (the memory's share of power lags a tick)
    held = (flags & SW_THERMAL_SLOWDOWN) > 0
    assert np.any(held & (die < 85.0))
    assert result.events.count("thermal_shutdown") == 0


def test_leakage_lowers_a_capped_gpus_clock_as_the_water_warms():
    clocks, powers = [], []
    for supply in ("20 C", "30 C", "40 C"):
        _, result = run(
            "balanced",
            duration="8 min",
            **{
                "power.gpu_power_limit": "300 W",
                "workload.demand": 1.0,
                "cooling.liquid.facility_supply": supply,
            },
        )
        late = column(result, "time_s") > 240
        clocks.append(column(result, "DCGM_FI_DEV_SM_CLOCK")[late].mean())
        powers.append(column(result, "DCGM_FI_DEV_POWER_USAGE")[late].mean())
    assert clocks[0] > clocks[1] > clocks[2]  # same cap, more of it leaks away
    assert max(powers) - min(powers) < 0.02 * 300  # the cap holds throughout


def test_fan_power_rises_with_inlet_air():
    host = []
    for supply in ("20 C", "27 C", "32 C"):
        engine, result = run("balanced", duration="3 min", **{**AIR, "cooling.air.supply": supply})
        fac = result.facility
        it, gpu = np.asarray(fac.column("it_power_kw")), np.asarray(fac.column("gpu_power_kw"))
        host.append(float(np.mean(it - gpu)))
    assert host[0] < host[1] < host[2]
    fans = engine.fans
    assert host[2] - host[0] >= 0.9 * engine.n_nodes * float(fans.power(32.0, 8) - fans.power(20.0, 8)) / 1e3


def test_heat_sink_resistance_below_the_stack_is_refused():
    with pytest.raises(ValueError, match=r"cooling\.air\.heat_sink_resistance"):
        Engine(scenario("balanced", **{**AIR, "cooling.air.heat_sink_resistance": "0.025 K/W"}))


def test_same_scenario_same_stack_temperatures():
    a = run("cdu-pump-failure", duration="6 min", **{"cooling.events": ALL_PUMPS_STOP})[1]
    b = run("cdu-pump-failure", duration="6 min", **{"cooling.events": ALL_PUMPS_STOP})[1]
    for name in ("DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_POWER_USAGE"):
        assert np.array_equal(column(a, name), column(b, name))
