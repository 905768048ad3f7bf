"""Quantities with units, parsed at the boundary only.

Scenario and catalog files write quantities as strings ("700 W", "45 kW", "32 C", "90 s",
"3.35 TB/s"). Inside the package every number is a float in one fixed unit per dimension:

    power W, energy J, time s, frequency MHz, temperature degC (differences too),
    bytes B, bandwidth B/s, compute FLOP/s, mass flow kg/s, volume flow L/min,
    thermal resistance K/W, heat capacity J/K, voltage V, mass kg.
"""

from __future__ import annotations

import re

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

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


class UnitError(ValueError):
    """A quantity string that cannot be read in the requested dimension."""


def allowed_units(dimension: str) -> str:
    return ", ".join(_UNITS[dimension])


def parse_quantity(text: str | int | float, dimension: str) -> float:
    """Parse "45 kW" as 45000.0 (W). Bare numbers are refused: a unit is always required."""
    if dimension not in _UNITS:
        raise KeyError(f"unknown dimension {dimension!r}")
    if isinstance(text, bool) or not isinstance(text, str):
        raise UnitError(f"{text!r} has no unit; write it with one of: {allowed_units(dimension)}")
    match = _QUANTITY.match(text)
    if not match:
        raise UnitError(f"{text!r} is not a number followed by a unit ({allowed_units(dimension)})")
    number, unit = match.groups()
    if not unit:
        raise UnitError(f"{text!r} has no unit; write it with one of: {allowed_units(dimension)}")
    scale = _UNITS[dimension].get(unit.strip())
    if scale is None:
        raise UnitError(
            f"{text!r}: unit {unit.strip()!r} is not a {dimension} unit ({allowed_units(dimension)})"
        )
    return float(number) * scale
