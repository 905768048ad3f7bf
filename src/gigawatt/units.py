"""Quantities with units, parsed at the boundary only.

Scenario and catalog files write quantities as strings ("700 W", "45 kW", "32 C", "90 s",
"3.35 TB/s"). Inside the package every number is a float in one fixed unit per dimension:

    power W, energy J, time s, frequency MHz, temperature degC (differences too),
    bytes B, bandwidth B/s, compute FLOP/s, mass flow kg/s, volume flow L/min,
    thermal resistance K/W, heat capacity J/K, voltage V, mass kg.
"""

from __future__ import annotations

import math
import re

from gigawatt.safety import excerpt

# Multipliers to the internal unit of each dimension. Decimal prefixes for bytes (TB = 1e12),
# because vendors quote HBM bandwidth and capacity that way; GiB/TiB are binary.
_UNITS: dict[str, dict[str, float]] = {
    "power": {"W": 1.0, "kW": 1e3, "MW": 1e6, "mW": 1e-3},
    "energy": {"J": 1.0, "kJ": 1e3, "MJ": 1e6, "GJ": 1e9, "Wh": 3600.0, "kWh": 3.6e6, "MWh": 3.6e9},
    "time": {
        "ns": 1e-9,
        "us": 1e-6,
        "µs": 1e-6,
        "ms": 1e-3,
        "s": 1.0,
        "min": 60.0,
        "h": 3600.0,
        "d": 86400.0,
    },
    "frequency": {"MHz": 1.0, "GHz": 1e3},
    # Celsius only: absolute temperatures and differences share the unit, and 303 K is not 303 C.
    "temperature": {"C": 1.0, "°C": 1.0, "degC": 1.0},
    "bytes": {
        "B": 1.0,
        "kB": 1e3,
        "KB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 1024.0,
        "MiB": 1024.0**2,
        "GiB": 1024.0**3,
        "TiB": 1024.0**4,
    },
    "bandwidth": {"B/s": 1.0, "MB/s": 1e6, "GB/s": 1e9, "TB/s": 1e12, "Gb/s": 1e9 / 8, "Tb/s": 1e12 / 8},
    "compute": {"FLOP/s": 1.0, "GFLOP/s": 1e9, "TFLOP/s": 1e12, "PFLOP/s": 1e15},
    "mass_flow": {"kg/s": 1.0, "kg/min": 1.0 / 60.0},
    "volume_flow": {"L/min": 1.0, "L/s": 60.0, "m3/h": 1000.0 / 60.0},
    "thermal_resistance": {"K/W": 1.0, "C/W": 1.0},
    "heat_capacity": {"J/K": 1.0, "kJ/K": 1e3, "MJ/K": 1e6},
    "voltage": {"V": 1.0, "mV": 1e-3},
    "mass": {"kg": 1.0, "t": 1000.0},
}

# ASCII digits and white space only (as JSON Schema's ECMA-262 patterns read \\d and \\s without the
# Unicode flag), so that `unit_pattern` accepts exactly what `parse_quantity` reads.
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_SPACE = r"[ \t\n\r\f\v]*"
_QUANTITY = re.compile(rf"{_SPACE}({_NUMBER}){_SPACE}([^0-9 \t\n\r\f\v].*?)?{_SPACE}", re.ASCII)
MAX_QUANTITY_CHARS = 100


class UnitError(ValueError):
    """A quantity string that cannot be read in the requested dimension."""


def allowed_units(dimension: str) -> str:
    return ", ".join(_UNITS[dimension])


def unit_pattern(dimension: str) -> str:
    """A regular expression (JSON Schema / ECMA-262 syntax) matching exactly the strings `parse_quantity`
    reads in `dimension`, up to MAX_QUANTITY_CHARS characters; ranges and floors are checked on load."""
    units = sorted(_UNITS[dimension], key=len, reverse=True)
    return f"^{_SPACE}{_NUMBER}{_SPACE}(?:{'|'.join(map(re.escape, units))}){_SPACE}$"


def internal_unit(dimension: str) -> str:
    """The unit every quantity of `dimension` is held in inside the package ("W", "s", "B/s")."""
    return next(u for u, scale in _UNITS[dimension].items() if scale == 1.0)


def parse_quantity(text: str | int | float, dimension: str) -> float:
    """Parse "45 kW" as 45000.0 (W). Bare numbers are refused: a unit is always required."""
    if dimension not in _UNITS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(text, bool) or not isinstance(text, str):
        raise UnitError(f"{excerpt(text)} has no unit; write it with one of: {allowed_units(dimension)}")
    match = _QUANTITY.fullmatch(text) if len(text) <= MAX_QUANTITY_CHARS else None
    if not match:
        raise UnitError(f"{excerpt(text)} is not a number followed by a unit ({allowed_units(dimension)})")
    number, unit = match.groups()
    if not unit:
        raise UnitError(f"{excerpt(text)} has no unit; write it with one of: {allowed_units(dimension)}")
    scale = _UNITS[dimension].get(unit)
    if scale is None:
        raise UnitError(
            f"{excerpt(text)}: unit {excerpt(unit)} is not a {dimension} unit "
            f"({allowed_units(dimension)})"
        )
    value = float(number) * scale
    if not math.isfinite(value):
        raise UnitError(f"{excerpt(text)} is too large to be a {dimension}")
    return value


# The widest values a scenario may give, per dimension: far beyond any real hall, yet small enough that a
# run's sums and products of them stay finite (a duration of 1e300 s would overflow tick arithmetic).
SCENARIO_RANGE: dict[str, tuple[float, float]] = {
    "power": (-1e12, 1e12),  # 1 TW
    "time": (-1e10, 1e10),  # about 317 years
    "temperature": (-273.15, 1e4),  # absolute zero
    "mass_flow": (-1e6, 1e6),
    "volume_flow": (-1e8, 1e8),
    "heat_capacity": (-1e15, 1e15),
    "thermal_resistance": (-1e6, 1e6),
    "bandwidth": (-1e18, 1e18),  # 1 EB/s
}


def check_range(value: float, dimension: str) -> float:
    """A scenario quantity within SCENARIO_RANGE of its dimension (in internal units)."""
    low, high = SCENARIO_RANGE[dimension]
    if not low <= value <= high:
        unit = internal_unit(dimension)
        raise UnitError(f"must be between {low:g} {unit} and {high:g} {unit}")
    return value
