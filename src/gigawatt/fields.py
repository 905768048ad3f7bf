"""Field types of scenario models: quantities with units, fractions, and the strict model base.

Shared by `gigawatt.scenario` and the sections other packages define (`gigawatt.reliability.config`), so
that either can be imported first.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gigawatt.units import (
    MAX_QUANTITY_CHARS,
    allowed_units,
    check_range,
    internal_unit,
    parse_quantity,
    unit_pattern,
)


def quantity(dimension: str, example: str, floor: Literal["any", "zero", "positive"] = "any") -> Any:
    """A float written with a unit of `dimension` ("700 W") and parsed into the package's unit.

    floor: "zero" refuses negative values (a delay, a start time), "positive" also refuses zero (a duration
    or a rate that divides), so that no model repeats the check in a validator of its own.
    """
    unit = internal_unit(dimension)
    more = "longer" if dimension == "time" else "more"

    def parse(value: Any) -> float:
        v = check_range(parse_quantity(value, dimension), dimension)
        if floor == "zero" and v < 0:
            raise ValueError("must not be negative")
        if floor == "positive" and v <= 0:
            raise ValueError(f"must be {more} than 0 {unit}")
        return v

    bound = {"any": "", "zero": ", not negative", "positive": f", {more} than 0 {unit}"}[floor]
    schema = {
        "type": "string",
        "description": f"{dimension} with a unit ({allowed_units(dimension)}){bound}",
        "pattern": unit_pattern(dimension),
        "maxLength": MAX_QUANTITY_CHARS,
        "examples": [example],
    }
    return Annotated[float, BeforeValidator(parse), _FreshJsonSchema(schema)]


class _FreshJsonSchema:
    """WithJsonSchema, but a copy per use: pydantic 2.6 writes a field's default into the dict it is given,
    which every other field of the same type then showed (a default for a required duration)."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        return copy.deepcopy(self.schema)


Power = quantity("power", "700 W")
NonNegativePower = quantity("power", "700 W", floor="zero")
PositivePower = quantity("power", "20 MW", floor="positive")  # a capacity that divides: more than 0 W
Time = quantity("time", "90 s")
Delay = quantity("time", "90 s", floor="zero")  # a start time, a wait, a latency: 0 s or more
Duration = quantity("time", "90 s", floor="positive")  # how long something lasts: more than 0 s
Temperature = quantity("temperature", "32 C")
MassFlow = quantity("mass_flow", "20.6 kg/s")
VolumeFlow = quantity("volume_flow", "2 L/min")
HeatCapacity = quantity("heat_capacity", "4 MJ/K")
PositiveHeatCapacity = quantity("heat_capacity", "400 MJ/K", floor="positive")
ThermalResistance = quantity("thermal_resistance", "0.06 K/W")
Bandwidth = quantity("bandwidth", "2 TB/s")
ReadRate = quantity("bandwidth", "7 GB/s", floor="positive")  # a storage or link throughput

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    # allow_inf_nan: a float field given .inf or 1e999 is refused rather than carried into the run.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
