"""The plant: chiller COP against condenser temperature, economiser hours against climate, supply
temperatures that follow the weather, energy accounting, determinism, and the diurnal example."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.engine import Engine
from gigawatt.plant import heat_rejection as hr
from gigawatt.plant.config import Site
from gigawatt.plant.plant import SitePlant
from gigawatt.plant.weather import design_day
from gigawatt.scenario import Scenario, ScenarioError, load
from gigawatt.summary import summarize
from helpers import EXAMPLES, example_dict, with_changes

DAY = {"kind": "daily", "dry_bulb_min": "18 C", "dry_bulb_max": "34 C", "wet_bulb_min": "12 C"}
DAY |= {"wet_bulb_max": "19 C"}


def site_scenario(plant: dict, weather: dict | None = None, **changes) -> Scenario:
    data = with_changes(example_dict("balanced"), duration="24 h", tick="60 s", **changes)
    data["recording"] = {"interval": "30 min", "level": "rack"}
    data["site"] = {"weather": weather or DAY, "plant": plant}
    return Scenario.model_validate(data)


@pytest.mark.parametrize("kind", hr.KINDS)
def test_chiller_cop_falls_as_the_condenser_warms(kind):
    r = hr.rejection(kind)
    outdoor = np.linspace(-10.0, 45.0, 56)
    cop = hr.chiller_cop(r, 18.0, hr.condensing_c(r, outdoor, outdoor))
    assert np.all(np.diff(cop) <= 0) and np.any(np.diff(cop) < 0)
    # A warmer chilled-water setpoint needs less lift: a higher COP at the same condenser.
    warm = hr.chiller_cop(r, 25.0, hr.condensing_c(r, outdoor, outdoor))
    assert np.all(warm >= cop)


def test_tower_follows_wet_bulb_and_dry_cooler_dry_bulb():
    db, wb = np.array([30.0, 30.0]), np.array([15.0, 25.0])
    tower, dry = hr.rejection("cooling-tower"), hr.rejection("dry-cooler")
    assert np.allclose(hr.outdoor_water_c(tower, db, wb), wb + tower.approach_k)
    assert np.allclose(hr.outdoor_water_c(dry, db, wb), db + dry.approach_k)


def _plant(kind: str, dry_bulb: tuple[float, float], wet_bulb: tuple[float, float], **plant) -> SitePlant:
    site = Site.model_validate(
        {
            "weather": {
                "kind": "daily",
                "dry_bulb_min": f"{dry_bulb[0]} C",
                "dry_bulb_max": f"{dry_bulb[1]} C",
            }
            | {"wet_bulb_min": f"{wet_bulb[0]} C", "wet_bulb_max": f"{wet_bulb[1]} C"},
            "plant": {"heat_rejection": kind, **plant},
        }
    )
    times = np.arange(0.0, 86_400.0, 600.0)
    w = design_day(dry_bulb[0], dry_bulb[1], wet_bulb[0], wet_bulb[1])
    return SitePlant(site, w, times, [("air", 17.9, 5.56)], 6.1, (0.037, 0.05))


@pytest.mark.parametrize("kind", hr.KINDS)
def test_economiser_hours_rise_as_the_climate_cools(kind):
    hours, power = [], []
    for shift in (10.0, 5.0, 0.0, -5.0, -10.0):
        p = _plant(kind, (18.0 + shift, 34.0 + shift), (12.0 + shift, 19.0 + shift))
        ticks = range(len(p.db))
        watts = [p.power(t, 0.0, 100e3) for t in ticks]
        hours.append(float((1.0 - p.share.max(axis=0)).sum() / 6.0))  # 10-min ticks
        power.append(float(np.mean(watts)))
    assert all(b >= a for a, b in itertools.pairwise(hours)) and hours[-1] > hours[0]
    assert all(b <= a for a, b in itertools.pairwise(power)) and power[-1] < power[0]


def test_chiller_less_loop_floats_with_outdoor_water_and_holds_its_setpoint_when_cold():
    p = _plant("dry-cooler", (18.0, 34.0), (12.0, 19.0), chiller=False)
    for t in range(len(p.db)):
        _, air = p.supply(t)
        expect = max(17.9, p.db[t] + 6.0 + 2.0) + 6.1
        assert air == pytest.approx(expect)
        p.power(t, 0.0, 50e3)


def test_short_chiller_lets_supply_rise_and_a_big_one_holds_it():
    short = _plant("cooling-tower", (18.0, 34.0), (12.0, 19.0), chiller_capacity="30 kW")
    big = _plant("cooling-tower", (18.0, 34.0), (12.0, 19.0))
    air_short, air_big = [], []
    for t in range(len(short.db)):
        air_short.append(short.supply(t)[1])
        air_big.append(big.supply(t)[1])
        short.power(t, 0.0, 50e3)
        big.power(t, 0.0, 50e3)
    assert np.allclose(air_big, 24.0)
    assert min(air_short) == pytest.approx(24.0) and max(air_short) > 25.0
    hot = int(np.argmax(short.wb))
    assert air_short[hot] == pytest.approx(max(air_short))


def test_a_liquid_hall_on_a_chiller_less_plant_follows_the_day():
    sc = site_scenario(
        {"heat_rejection": "dry-cooler", "chiller": False}, **{"cooling.liquid.facility_supply": "32 C"}
    )
    result = Engine(sc).run()
    fac = result.facility.to_pydict()
    water, db = np.asarray(fac["facility_water_c"]), np.asarray(fac["outdoor_dry_bulb_c"])
    assert np.allclose(water, np.maximum(32.0, db + 8.0), atol=0.3)  # 10-min means of a moving day
    cdu = np.asarray(fac["cdu0_supply_c"])
    temp = np.asarray(fac["gpu_temp_max_c"])
    hot, cold = int(np.argmax(db)), int(np.argmin(db))
    assert cdu[hot] > cdu[cold] + 5.0 and temp[hot] > temp[cold] + 5.0
    s = summarize(result)
    assert "outdoor 18–34 C dry bulb" in s["chain"] and "facility water 32–42 C" in s["chain"]


def test_energy_accounting_and_pue():
    sc = site_scenario({"heat_rejection": "cooling-tower", "chiller_capacity": "10 kW"})
    result = Engine(sc).run()
    tot, fac = result.totals, result.facility.to_pydict()
    interval = 1800.0
    cooling_j = float(np.sum(fac["cooling_power_kw"])) * 1e3 * interval
    assert cooling_j == pytest.approx(tot.cooling_energy_j, rel=1e-9)
    pue = np.asarray(fac["pue"])
    assert np.all(pue > 1.0)
    assert np.allclose(pue, np.asarray(fac["facility_power_kw"]) / np.asarray(fac["it_power_kw"]))
    s = summarize(result)
    site = s["site"]
    assert site["pue"]["min"] <= s["pue"] <= site["pue"]["max"]
    assert site["pue"]["max"] > site["pue"]["min"]  # the chiller works harder in the afternoon
    # Energy still balances with moving setpoints: IT energy = heat removed + heat stored.
    assert abs(s["energy_balance_relative_error"]) < 1e-9


def test_without_a_site_the_fixed_plant_cops_apply():
    result = Engine(Scenario.model_validate(example_dict("balanced"))).run()
    tot = result.totals
    expect = tot.heat_to_liquid_j / 25.0 + tot.heat_to_air_j / 2.1
    assert tot.cooling_energy_j == pytest.approx(expect, rel=1e-12)
    assert "outdoor_dry_bulb_c" not in result.facility.column_names


def test_same_scenario_same_day():
    sc = site_scenario({"heat_rejection": "chiller-air-cooled", "chiller_capacity": "12 kW"})
    a, b = Engine(sc).run(), Engine(sc).run()
    assert a.facility.equals(b.facility) and a.timeseries.equals(b.timeseries)


def test_diurnal_example_runs_both_halls():
    sc = load(EXAMPLES / "diurnal.yaml")
    assert [v.label for v in sc.variants] == ["air"]
    s = summarize(Engine(sc).run())
    site = s["site"]
    assert site["dry_bulb_c"] == {"min": pytest.approx(18.0, abs=0.3), "max": pytest.approx(34.0, abs=0.3)}
    assert site["supply_c"]["max"] > site["supply_c"]["min"] + 5.0
    assert s["chain"].startswith("outdoor 18–34 C dry bulb / 12–19 C wet bulb → facility water 32–")
    assert "tokens/s at peak vs night" in s["chain"]


@pytest.mark.parametrize(
    ("site", "fragment"),
    [
        (
            {"weather": DAY | {"wet_bulb_max": "40 C"}, "plant": {"heat_rejection": "dry-cooler"}},
            "wet bulb cannot",
        ),
        ({"weather": DAY, "plant": {"heat_rejection": "river"}}, "site.plant.heat_rejection: must be one of"),
        (
            {
                "weather": DAY,
                "plant": {"heat_rejection": "dry-cooler", "chiller": False, "economiser": False},
            },
            "without a chiller needs economiser",
        ),
        (
            {"weather": DAY | {"dry_bulb_max": "34 K"}, "plant": {"heat_rejection": "dry-cooler"}},
            "site.weather.daily.dry_bulb_max",
        ),
        (
            {"weather": {"kind": "file", "path": "nowhere.epw"}, "plant": {"heat_rejection": "dry-cooler"}},
            "site.weather.path: no weather file at",
        ),
    ],
)
def test_bad_site_sections_are_refused_with_the_field(tmp_path, site, fragment):
    import yaml

    data = example_dict("balanced") | {"site": site}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert fragment in str(err.value) and "s.yaml:" in str(err.value)


def test_weather_file_is_read_relative_to_the_scenario_and_bad_rows_exit_2(tmp_path):
    import yaml

    (tmp_path / "wx").mkdir()
    (tmp_path / "wx" / "day.csv").write_text("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n1,22,oops\n")
    data = with_changes(example_dict("balanced"), duration="30 min", tick="10 s")
    data["site"] = {
        "weather": {"kind": "file", "path": "wx/day.csv"},
        "plant": {"heat_rejection": "cooling-tower"},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "site.weather.path" in text and "line 3: wet_bulb_c 'oops' is not a number" in text
    assert "Traceback" not in result.output
    (tmp_path / "wx" / "day.csv").write_text("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n0.25,22,16\n")
    short = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert short.exit_code == 2 and "the weather covers 0.25 h" in " ".join(short.output.split())
    (tmp_path / "wx" / "day.csv").write_text("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n1,22,16\n")
    ok = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output


def test_economiser_hours_weigh_a_short_last_interval_by_its_length():
    """A chiller-less dry-cooler plant runs on its economiser all the time: 100 minutes recorded every
    30 minutes (the last interval 10 minutes) are 100/60 h of economiser, not 4 × 30 minutes."""
    data = site_scenario({"heat_rejection": "dry-cooler", "chiller": False}).raw | {"duration": "100 min"}
    site = summarize(Engine(Scenario.model_validate(data)).run())["site"]
    assert site["economiser_hours"]["full"] + site["economiser_hours"]["partial"] == pytest.approx(100 / 60)
