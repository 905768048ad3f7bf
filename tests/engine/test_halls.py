"""Halls (cluster.racks_per_hall): each with a power budget enforced by capping and its own heat rejection,
under one site feed (examples/campus-halls.yaml). Hall power sums to the site's IT power, a binding hall
throttles only its own racks and holds its budget, a hall short of heat rejection warms only its own water,
and a cluster declared as one unlimited hall runs exactly as one without halls."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.engine import Engine
from gigawatt.plant import halls as hall_cooling
from gigawatt.power import hall_physics
from gigawatt.scenario import Scenario
from gigawatt.summary import summarize
from gigawatt.validation.check import failed
from helpers import example_dict, with_changes

RACKS_PER_HALL = 16


def _halls(**changes):
    return Scenario.model_validate(with_changes(example_dict("campus-halls"), **changes))


@pytest.fixture(scope="module")
def run():
    """The example for 3 minutes, recorded every tick."""
    sc = _halls(duration="3 min", **{"recording.interval": "1 s"})
    result = Engine(sc).run()
    return result, summarize(result)


def _column(table, name):
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def test_hall_power_sums_to_the_sites_it_power(run):
    result, _ = run
    fac = result.facility
    halls = sum(_column(fac, f"hall{h}_power_kw") for h in range(4))
    np.testing.assert_allclose(halls, _column(fac, "it_power_kw"), rtol=1e-12)


def test_a_binding_hall_throttles_only_its_own_racks(run):
    result, s = run
    ev = result.events
    starts = np.array(
        [i for k, i, d in zip(ev.kind, ev.index, ev.detail, strict=True) if k == "throttle_start"]
    )
    gpus_per_hall = RACKS_PER_HALL * 32
    assert len(starts) == gpus_per_hall  # every GPU of hall 2, once
    assert set(starts // gpus_per_hall) == {2}
    assert s["halls"]["binding_halls"] == [2]
    ts = result.timeseries
    hall, clock = _column(ts, "hall"), _column(ts, "DCGM_FI_DEV_SM_CLOCK")
    late = _column(ts, "time_s") > 10
    assert clock[late & (hall == 2)].max() < clock[late & (hall != 2)].min()


def test_a_hall_holds_its_budget_after_the_controllers_first_tick(run):
    """The capping controller acts on a tick's power at the next tick (power.capping): hall 2 may exceed its
    budget only on the first tick, then stays inside it and above the controller's lower threshold."""
    result, s = run
    sc = result.scenario
    budget_kw = 330.0
    hall2 = _column(result.facility, "hall2_power_kw")  # one row a tick
    assert hall2[0] > budget_kw  # uncapped at the start: the budget binds
    assert hall2[1:].max() <= budget_kw * sc.power.capping.upper
    assert hall2[5:].min() >= budget_kw * (sc.power.capping.lower - 0.01)
    assert s["halls"]["over_budget_s"] == [0.0, 0.0, 1.0, 0.0]
    peak = s["halls"]["power_peak_mw"]
    assert max(peak[0], peak[1], peak[3]) < 0.55  # the others' 550 kW budgets never bind


def test_a_hall_short_of_heat_rejection_warms_only_its_own_water(run):
    result, s = run
    h = s["halls"]
    assert h["cooling_short_halls"] == [1]
    rise = _column(result.facility, "hall1_water_rise_c")
    # Still warming (heat above capacity): rising over every 10 s; within them the CDUs' loops, which follow
    # the hall's water one tick later, trade a few mK with it.
    assert rise[60] > 0.0 and np.all(np.diff(rise[10::10]) > 0)
    for other in (0, 2, 3):
        assert np.all(_column(result.facility, f"hall{other}_water_rise_c") == 0.0)
    assert h["cooling_headroom"][1] < 0 < min(h["cooling_headroom"][k] for k in (0, 2, 3))
    tot = result.totals  # heat waiting in the hall's water is downstream of the CDUs: the IT balance holds
    balance = tot.it_energy_j - (tot.heat_to_liquid_j + tot.heat_to_air_j + result.stored_heat_j)
    assert abs(balance) <= 1e-6 * tot.it_energy_j
    assert "hall 1 heat" in s["chain"] and "hall 2 at" in s["chain"] and "MW feed" in s["chain"]


def test_hall_water_warms_at_its_shortfall_over_its_heat_capacity():
    """M·c_p·dT/dt = Q_in − capacity: 2 MW short on 400 MJ/K warms 5 mK/s; a hall within it stays at 0."""
    rise = np.zeros(2)
    for _ in range(600):
        rise, rejected = hall_cooling.step(rise, np.array([22e6, 15e6]), np.array([20e6, 20e6]), 400e6, 1.0)
    assert rise[0] == pytest.approx(2e6 * 600 / 400e6, rel=1e-12)
    assert rise[1] == 0.0
    np.testing.assert_allclose(rejected, [20e6, 15e6])


def test_the_site_feed_caps_every_hall():
    """A feed below the halls' draw: the site controller lowers every GPU's cap, in every hall alike."""
    sc = _halls(duration="2 min", **{"power.site_budget": "1.5 MW", "power.hall_budgets": []})
    result = Engine(sc).run()
    s = summarize(result)
    assert s["halls"]["site_capped_time_fraction"] > 0.9
    assert s["halls"]["binding_halls"] == []
    p = result.facility_power_w
    # Judged on this tick's IT power and last tick's cooling, which lags it: a ripple of under 1 % about the
    # controller's target, inside the feed from the third tick.
    assert p[0] > 1.5e6 and p[3:].max() <= 1.5e6
    target = 0.5 * (sc.power.capping.upper + sc.power.capping.lower) * 1.5e6
    assert abs(p[10:].mean() / target - 1.0) < 0.01
    means = s["halls"]["power_mean_mw"]
    assert max(means) / min(means) < 1.01


def test_one_unlimited_hall_runs_as_no_halls():
    """The whole cluster declared as one hall, with no hall budgets: the same run, plus a hall section."""
    base = with_changes(example_dict("balanced"), duration="2 min")
    plain = summarize(Engine(Scenario.model_validate(base)).run())
    racks = Scenario.model_validate(base).cluster.racks
    one_hall = Scenario.model_validate(with_changes(base, **{"cluster.racks_per_hall": racks}))
    one = summarize(Engine(one_hall).run())
    assert "halls" not in plain and one.pop("halls")["count"] == 1
    assert one == plain


def test_halls_are_deterministic():
    sc = _halls(duration="1 min")
    a, b = (summarize(Engine(sc).run()) for _ in range(2))
    assert a == b


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cluster.racks_per_hall": 24}, r"racks_per_hall \(24\) must divide the cluster.s 64 racks"),
        ({"cluster.racks_per_hall": 8}, "must be a multiple of cooling.liquid.racks_per_cdu"),
        ({"cluster.racks_per_hall": 0}, "greater than 0"),
        ({"power.hall_budget": "0 MW"}, "more than 0 W"),
        ({"power.hall_budget": "330"}, "power"),
        ({"power.hall_budgets": [{"halls": [4], "budget": "1 MW"}]}, r"hall indices must be in 0\.\.3"),
        ({"cooling.hall_heat_rejection": "-1 MW"}, "more than 0 W"),
        ({"cooling.hall_heat_rejections": [{"halls": [], "capacity": "1 MW"}]}, "at least 1"),
        ({"cooling.hall_water_heat_capacity": "0 MJ/K"}, "more than 0"),
    ],
)
def test_bad_hall_fields_are_refused_with_the_field_named(changes, message):
    with pytest.raises(ValueError, match=message):
        _halls(**changes)


def test_the_hall_checks_of_validate_physics_pass():
    rows = hall_physics.physics_checks()
    assert {c.role for c in rows} == {"model", "fitted", "other"}
    assert failed(rows) == []
