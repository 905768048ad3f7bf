"""Weather: psychrometrics against published values, the ASHRAE design day, EPW and CSV files."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.plant.weather import (
    WeatherError,
    design_day,
    read_weather,
    relative_humidity_from_dew_point,
    stull_wet_bulb_c,
    wet_bulb_c,
)


def test_wet_bulb_matches_stulls_published_example():
    """Stull (2011): 20 C and 50 % RH give a 13.7 C wet bulb."""
    assert float(wet_bulb_c(20.0, 0.5)) == pytest.approx(13.7, abs=0.15)
    assert float(stull_wet_bulb_c(20.0, 50.0)) == pytest.approx(13.7, abs=0.05)


def test_wet_bulb_agrees_with_stulls_fit_over_its_range():
    """Stull's fit is within about 1 K of the psychrometric wet bulb (his Fig. 2: -1 to +0.65 K over most
    of RH 5-99 %, -20 to 50 C, more at the hot and dry corner)."""
    t, rh = np.meshgrid(np.linspace(0.0, 45.0, 10), np.linspace(10.0, 95.0, 10))
    diff = stull_wet_bulb_c(t, rh) - wet_bulb_c(t, rh / 100.0)
    assert np.abs(diff).max() < 1.0 and np.abs(diff).mean() < 0.4


def test_wet_bulb_physics():
    t = np.linspace(-5.0, 45.0, 11)
    assert np.allclose(wet_bulb_c(t, 1.0), t, atol=1e-6)  # saturated air: wet bulb = dry bulb
    low, high = wet_bulb_c(t, 0.2), wet_bulb_c(t, 0.6)
    assert np.all(low < high) and np.all(high < t)
    # Thinner air evaporates more readily: a lower wet bulb at altitude (Denver, ~83 kPa).
    assert float(wet_bulb_c(30.0, 0.3, 83_000.0)) < float(wet_bulb_c(30.0, 0.3))
    assert float(relative_humidity_from_dew_point(np.array(20.0), np.array(20.0))) == pytest.approx(1.0)


def test_design_day_follows_the_ashrae_profile():
    w = design_day(18.0, 34.0, 12.0, 19.0)
    hours = np.arange(0, 24 * 3600, 3600.0)
    db, wb = w.at(hours)
    assert db.min() == pytest.approx(18.0) and int(np.argmin(db)) == 5  # coolest at 05:00
    assert db.max() == pytest.approx(34.0) and int(np.argmax(db)) in (14, 15)
    assert wb.min() == pytest.approx(12.0) and wb.max() == pytest.approx(19.0)
    assert np.all(wb <= db)
    # It repeats every day, and `start` moves the run's time 0 to that time of day.
    assert np.allclose(w.at(hours + 86_400.0)[0], db)
    shifted = design_day(18.0, 34.0, 12.0, 19.0, start_s=14 * 3600.0)
    assert float(shifted.at(np.array([0.0]))[0][0]) == pytest.approx(34.0)


def _epw(rows: list[str], per_hour: int = 1) -> str:
    header = [
        "LOCATION,Golden,CO,USA,TMY3,724666,39.74,-105.18,-7.0,1829.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,test",
        "COMMENTS 2,test",
        f"DATA PERIODS,1,{per_hour},Data,Sunday, 1/ 1,12/31",
    ]
    return "\n".join(header + rows) + "\n"


def _row(hour: int, db: str, dew: str = "10.0", rh: str = "50", p: str = "81000") -> str:
    return (
        f"1999,7,1,{hour},60,A7A7A7A7*0?9?9?9?9?9?9?9A7A7A7A7A7A7*0E8*0*0,{db},{dew},{rh},{p},0,0,300,0,0,0"
    )


def test_reads_an_epw_by_its_field_positions(tmp_path):
    path = tmp_path / "site.epw"
    path.write_text(
        _epw([_row(1, "20.0"), _row(2, "30.0", rh="999", dew="15.0"), _row(3, "25.0", p="999999")])
    )
    w = read_weather(path)
    assert np.allclose(w.time_s, [0.0, 3600.0, 7200.0])
    assert np.allclose(w.dry_bulb_c, [20.0, 30.0, 25.0])
    # Field 9 (RH) and field 10 (pressure) used; a missing RH falls back on field 8 (dew point).
    assert w.wet_bulb_c[0] == pytest.approx(float(wet_bulb_c(20.0, 0.5, 81_000.0)))
    rh = float(relative_humidity_from_dew_point(np.array(30.0), np.array(15.0)))
    assert w.wet_bulb_c[1] == pytest.approx(float(wet_bulb_c(30.0, rh, 81_000.0)))
    assert w.wet_bulb_c[2] == pytest.approx(float(wet_bulb_c(25.0, 0.5)))  # missing pressure: standard
    assert read_weather(path, start_s=3600.0).dry_bulb_c[0] == 30.0
    # Records per hour come from DATA PERIODS.
    path.write_text(_epw([_row(1, "20.0"), _row(1, "21.0")], per_hour=4))
    assert read_weather(path).time_s[1] == 900.0


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([_row(1, "20.0"), _row(2, "warm")], "line 10: dry bulb (field 7) 'warm' is not a number"),
        ([_row(1, "99.9")], "line 9: dry bulb (field 7) '99.9' is missing"),
        (["1999,7,1,1,60,x,20.0"], "line 9: 7 fields"),
        ([_row(1, "20.0", rh="999", dew="99.9")], "line 9: relative humidity (field 9) and dew point"),
        ([_row(1, "20.0", rh="150")], "line 9: relative humidity (field 9) '150'"),
        ([_row(1, "20.0", p="12")], "line 9: station pressure (field 10) '12'"),
        ([], "no data rows"),
    ],
)
def test_bad_epw_rows_are_named_by_line_and_field(tmp_path, rows, fragment):
    path = tmp_path / "site.epw"
    path.write_text(_epw(rows))
    with pytest.raises(WeatherError, match=r"site\.weather\.path") as err:
        read_weather(path)
    assert fragment in str(err.value) and "site.epw" in str(err.value)


def test_epw_without_its_location_header_is_refused(tmp_path):
    path = tmp_path / "site.epw"
    path.write_text("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n")
    with pytest.raises(WeatherError, match="line 1: an EPW file starts with its LOCATION"):
        read_weather(path)


def test_reads_a_csv(tmp_path):
    path = tmp_path / "day.csv"
    path.write_text("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n1,22,16\n\n2.5,25,17\n")
    w = read_weather(path)
    assert np.allclose(w.time_s, [0, 3600, 9000]) and np.allclose(w.wet_bulb_c, [15, 16, 17])
    db, wb = w.at(np.array([1800.0]))
    assert float(db[0]) == pytest.approx(21.0) and float(wb[0]) == pytest.approx(15.5)
    assert w.covers(9000.0) and not w.covers(9001.0)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("time,dry,wet\n0,20,15\n", "line 1: the header must be hour,dry_bulb_c,wet_bulb_c"),
        ("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n1,21\n", "line 3: 2 fields"),
        ("hour,dry_bulb_c,wet_bulb_c\n0,20,15\n0,21,15\n", "line 3: hour 0 does not increase"),
        ("hour,dry_bulb_c,wet_bulb_c\n0,20,25\n", "line 2: wet_bulb_c 25 must be"),
        ("hour,dry_bulb_c,wet_bulb_c\n0,nan,15\n", "line 2: dry_bulb_c 'nan' is not a number"),
        ("hour,dry_bulb_c,wet_bulb_c\n1,20,15\n", "line 2: the first hour must be 0"),
        ("hour,dry_bulb_c,wet_bulb_c\n", "no rows after the header"),
    ],
)
def test_bad_csv_is_named_by_line_and_field(tmp_path, body, fragment):
    path = tmp_path / "day.csv"
    path.write_text(body)
    with pytest.raises(WeatherError) as err:
        read_weather(path)
    assert fragment in str(err.value)


def test_weather_file_must_be_a_regular_file(tmp_path):
    with pytest.raises(WeatherError, match="must be a regular file, not a folder"):
        read_weather(tmp_path)
