"""Outdoor air: dry-bulb and wet-bulb temperature over time (DESIGN §4.8).

Three sources, each a `Weather` (instants in seconds from the run's start and the temperatures then):

- a design day by parameters: the ASHRAE Handbook-Fundamentals (2009, ch. 14, Table 6) hourly fraction
  of the daily range, T = T_max − f·(T_max − T_min), applied to dry bulb and wet bulb alike (ASHRAE
  RP-1363 found one profile fits both, in all climates and seasons); it repeats every 24 h;
- an EnergyPlus weather file (EPW), read by the field positions of the EnergyPlus "Auxiliary Programs"
  documentation, ch. 2 "Weather Converter Program", EPW data dictionary: field 7 dry bulb (C, missing
  99.9), 8 dew point (C, missing 99.9), 9 relative humidity (%, missing 999), 10 station pressure
  (Pa, missing 999999); the first eight lines are the header, DATA PERIODS giving records per hour;
- a CSV file with the header `hour,dry_bulb_c,wet_bulb_c` (hours from its first row, increasing).

Wet bulb from dry bulb and humidity solves the psychrometric equation (ASHRAE Handbook-Fundamentals
2017, ch. 1, eq. 35) at the station pressure, with saturation pressure from the Magnus form of Alduchov
& Eskridge (1996). Errors name the file, the line and the field, and quote values only in short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gigawatt.safety import InputFileError, excerpt, read_regular_file

MAX_WEATHER_BYTES = 64 << 20  # a one-minute EPW year is about 40 MB; an hourly one under 2 MB
STANDARD_PRESSURE_PA = 101_325.0
# ASHRAE Handbook-Fundamentals 2009, ch. 14, Table 6: fraction of the daily range below the day's
# maximum, for the hours ending 01:00 ... 24:00 (the EnergyPlus design-day default multipliers).
ASHRAE_DAILY_FRACTION = (
    0.88, 0.92, 0.95, 0.98, 1.00, 0.98, 0.91, 0.74, 0.55, 0.38, 0.23, 0.13,
    0.05, 0.00, 0.00, 0.06, 0.14, 0.24, 0.39, 0.50, 0.59, 0.68, 0.75, 0.82,
)  # fmt: skip
DAY_S = 86_400.0


class WeatherError(ValueError):
    """A weather file that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Weather:
    """Outdoor conditions at instants `time_s` (increasing); `period_s` repeats them (a design day)."""

    time_s: np.ndarray
    dry_bulb_c: np.ndarray
    wet_bulb_c: np.ndarray
    period_s: float | None = None

    def at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dry bulb, wet bulb) at times `t_s`, linear between instants."""
        t = np.asarray(t_s, dtype=float)
        if self.period_s is not None:
            t = np.mod(t, self.period_s)
            period = self.period_s
            xp = np.concatenate([self.time_s, [self.time_s[0] + period]])
            db = np.concatenate([self.dry_bulb_c, self.dry_bulb_c[:1]])
            wb = np.concatenate([self.wet_bulb_c, self.wet_bulb_c[:1]])
            t = np.where(t < xp[0], t + period, t)
            return np.interp(t, xp, db), np.interp(t, xp, wb)
        return np.interp(t, self.time_s, self.dry_bulb_c), np.interp(t, self.time_s, self.wet_bulb_c)

    def covers(self, seconds: float) -> bool:
        return self.period_s is not None or self.time_s[-1] >= seconds - 1e-6


# ---------------------------------------------------------------- psychrometrics


def saturation_pressure_pa(t_c: np.ndarray | float) -> np.ndarray:
    """Saturation vapour pressure over water, Magnus form (Alduchov & Eskridge 1996, AERK)."""
    t = np.asarray(t_c, dtype=float)
    return 610.94 * np.exp(17.625 * t / (t + 243.04))


def relative_humidity_from_dew_point(dry_bulb_c: np.ndarray, dew_point_c: np.ndarray) -> np.ndarray:
    return np.clip(saturation_pressure_pa(dew_point_c) / saturation_pressure_pa(dry_bulb_c), 0.0, 1.0)


def wet_bulb_c(
    dry_bulb_c: np.ndarray | float,
    rh: np.ndarray | float,
    pressure_pa: np.ndarray | float = STANDARD_PRESSURE_PA,
) -> np.ndarray:
    """Thermodynamic wet bulb (C) from dry bulb (C), relative humidity (0-1) and pressure (Pa).

    Solves the humidity ratio balance of ASHRAE Handbook-Fundamentals 2017 ch. 1 eq. 35 (SI, above
    freezing) for Tw by bisection between the dew point side (-40 C) and the dry bulb: W(Tw) falls as
    Tw does, so 50 halvings of a 100 K bracket leave under 1e-13 K.
    """
    t, phi, p = np.broadcast_arrays(
        np.asarray(dry_bulb_c, dtype=float), np.asarray(rh, dtype=float), np.asarray(pressure_pa, dtype=float)
    )
    pw = phi * saturation_pressure_pa(t)
    w = 0.621945 * pw / (p - pw)
    lo, hi = np.full(t.shape, -40.0), t.copy()
    for _ in range(50):
        tw = 0.5 * (lo + hi)
        pws = saturation_pressure_pa(tw)
        ws = 0.621945 * pws / (p - pws)
        w_of_tw = ((2501.0 - 2.326 * tw) * ws - 1.006 * (t - tw)) / (2501.0 + 1.86 * t - 4.186 * tw)
        too_warm = w_of_tw > w
        hi = np.where(too_warm, tw, hi)
        lo = np.where(too_warm, lo, tw)
    return 0.5 * (lo + hi)


def stull_wet_bulb_c(dry_bulb_c: np.ndarray | float, rh_percent: np.ndarray | float) -> np.ndarray:
    """Stull (2011), J. Appl. Meteor. Climatol. 50, 2267, eq. 1: wet bulb at sea-level pressure from dry
    bulb (C) and RH (%); a check on `wet_bulb_c` (valid for RH 5-99 %, -20 to 50 C)."""
    t, rh = np.asarray(dry_bulb_c, dtype=float), np.asarray(rh_percent, dtype=float)
    return (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )


# ---------------------------------------------------------------- sources


def design_day(
    dry_bulb_min: float, dry_bulb_max: float, wet_bulb_min: float, wet_bulb_max: float, start_s: float = 0.0
) -> Weather:
    """The ASHRAE design-day profile, shifted so that the run's time 0 is `start_s` after midnight.

    Each tabulated hour-ending value is placed at its clock hour (01:00 ... 24:00 = 00:00)."""
    f = np.asarray(ASHRAE_DAILY_FRACTION)
    clock = np.arange(1, 25) * 3600.0 % DAY_S
    t = np.mod(clock - start_s, DAY_S)
    order = np.argsort(t, kind="stable")
    db = dry_bulb_max - f * (dry_bulb_max - dry_bulb_min)
    wb = wet_bulb_max - f * (wet_bulb_max - wet_bulb_min)
    return Weather(t[order], db[order], wb[order], DAY_S)


def read_weather(path: str | Path, start_s: float = 0.0, field: str = "site.weather.path") -> Weather:
    """An EPW (by its `.epw` suffix) or CSV weather file, its time shifted so that `start_s` into the file
    is the run's time 0. Errors start with `field` so that the scenario loader can point at its line."""
    path = Path(path)
    try:
        text = read_regular_file(path, MAX_WEATHER_BYTES, "weather file").decode("utf-8", errors="replace")
    except InputFileError as exc:
        raise WeatherError(f"{field}: {exc}") from None
    lines = text.splitlines()
    reader = _read_epw if path.suffix.lower() == ".epw" else _read_csv
    time_s, db, wb = reader(path, lines, field)
    keep = time_s >= start_s - 1e-6
    if keep.sum() < 1:
        raise WeatherError(
            f"{field}: {path} covers {time_s[-1] / 3600:g} h; site.weather.start "
            f"({start_s / 3600:g} h) is past its end"
        )
    return Weather(time_s[keep] - start_s, db[keep], wb[keep])


def _number(path: Path, line_no: int, name: str, text: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise WeatherError(f"{field}: {path}, line {line_no}: {name} {excerpt(text.strip())} is not a number")
    return value


def _read_epw(path: Path, lines: list[str], field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not lines or not lines[0].upper().startswith("LOCATION"):
        raise WeatherError(f"{field}: {path}, line 1: an EPW file starts with its LOCATION header line")
    per_hour = 1
    for no, line in enumerate(lines[:8], start=1):
        if line.upper().startswith("DATA PERIODS"):
            parts = line.split(",")
            per_hour = (
                int(_number(path, no, "records per hour (DATA PERIODS field 3)", parts[2], field))
                if (len(parts) > 2)
                else 1
            )
            if not 1 <= per_hour <= 60:
                raise WeatherError(
                    f"{field}: {path}, line {no}: records per hour must be 1 to 60, not {per_hour}"
                )
    rows = [(no, line) for no, line in enumerate(lines[8:], start=9) if line.strip()]
    if not rows:
        raise WeatherError(f"{field}: {path}: no data rows after the eight header lines")
    db, wb = np.empty(len(rows)), np.empty(len(rows))
    for i, (no, line) in enumerate(rows):
        parts = line.split(",")
        if len(parts) < 10:
            raise WeatherError(
                f"{field}: {path}, line {no}: {len(parts)} fields; an EPW data row has at least 10 "
                "(year, month, day, hour, minute, flags, dry bulb, dew point, relative humidity, pressure)"
            )
        t = _number(path, no, "dry bulb (field 7)", parts[6], field)
        if t >= 99.9 or not -70.0 < t < 70.0:
            raise WeatherError(
                f"{field}: {path}, line {no}: dry bulb (field 7) {excerpt(parts[6].strip())} is missing or "
                "outside -70..70 C"
            )
        rh_pct = _number(path, no, "relative humidity (field 9)", parts[8], field)
        if rh_pct >= 999:
            dew = _number(path, no, "dew point (field 8)", parts[7], field)
            if dew >= 99.9:
                raise WeatherError(
                    f"{field}: {path}, line {no}: relative humidity (field 9) and dew point (field 8) are "
                    "both missing"
                )
            rh = float(relative_humidity_from_dew_point(np.array(t), np.array(min(dew, t))))
        elif not 0.0 <= rh_pct <= 110.0:
            raise WeatherError(
                f"{field}: {path}, line {no}: relative humidity (field 9) {excerpt(parts[8].strip())} is "
                "outside 0..110 %"
            )
        else:
            rh = min(rh_pct / 100.0, 1.0)
        p = _number(path, no, "station pressure (field 10)", parts[9], field)
        if p >= 999_999:
            p = STANDARD_PRESSURE_PA
        elif not 31_000 < p < 120_000:
            raise WeatherError(
                f"{field}: {path}, line {no}: station pressure (field 10) {excerpt(parts[9].strip())} is "
                "outside 31000..120000 Pa"
            )
        db[i] = t
        wb[i] = float(wet_bulb_c(t, rh, p))
    return np.arange(len(rows)) * (3600.0 / per_hour), db, wb


CSV_HEADER = ("hour", "dry_bulb_c", "wet_bulb_c")


def _read_csv(path: Path, lines: list[str], field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    header = [h.strip().strip('"') for h in lines[0].split(",")] if lines else []
    if tuple(header) != CSV_HEADER:
        raise WeatherError(
            f"{field}: {path}, line 1: the header must be {','.join(CSV_HEADER)} (or use an .epw file), "
            f"not {excerpt(lines[0] if lines else '')}"
        )
    rows = [(no, line) for no, line in enumerate(lines[1:], start=2) if line.strip()]
    if not rows:
        raise WeatherError(f"{field}: {path}: no rows after the header")
    out = np.empty((len(rows), 3))
    for i, (no, line) in enumerate(rows):
        parts = line.split(",")
        if len(parts) != 3:
            raise WeatherError(
                f"{field}: {path}, line {no}: {len(parts)} fields, expected 3 ({','.join(CSV_HEADER)})"
            )
        for j, name in enumerate(CSV_HEADER):
            out[i, j] = _number(path, no, name, parts[j], field)
        hour, t, tw = out[i]
        if not -70.0 < t < 70.0:
            raise WeatherError(f"{field}: {path}, line {no}: dry_bulb_c {t:g} is outside -70..70 C")
        if not -70.0 < tw <= t + 1e-9:
            raise WeatherError(
                f"{field}: {path}, line {no}: wet_bulb_c {tw:g} must be above -70 C and not above the dry "
                f"bulb ({t:g} C)"
            )
        if i and hour <= out[i - 1, 0]:
            raise WeatherError(f"{field}: {path}, line {no}: hour {hour:g} does not increase")
    if out[0, 0] != 0.0:
        raise WeatherError(f"{field}: {path}, line 2: the first hour must be 0, not {out[0, 0]:g}")
    return out[:, 0] * 3600.0, out[:, 1], out[:, 2]
