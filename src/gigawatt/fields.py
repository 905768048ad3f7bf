"""Field types of scenario models: quantities with units, fractions, and the strict model base.

Shared by `gigawatt.scenario` and the sections other packages define (`gigawatt.reliability.config`), so
that either can be imported first.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from gigawatt.units import allowed_units, check_range, parse_quantity


def quantity(dimension: str, example: str) -> Any:
    """A float written with a unit of `dimension` ("700 W") and parsed into the package's unit."""

    def parse(value: Any) -> float:
        return check_range(parse_quantity(value, dimension), dimension)

    schema = {
        "type": "string",
        "description": f"{dimension} with a unit ({allowed_units(dimension)})",
        "examples": [example],
    }
    return Annotated[float, BeforeValidator(parse), WithJsonSchema(schema)]


Power = quantity("power", "700 W")
Time = quantity("time", "90 s")
Temperature = quantity("temperature", "32 C")
MassFlow = quantity("mass_flow", "20.6 kg/s")
VolumeFlow = quantity("volume_flow", "2 L/min")
HeatCapacity = quantity("heat_capacity", "4 MJ/K")
ThermalResistance = quantity("thermal_resistance", "0.06 K/W")
Bandwidth = quantity("bandwidth", "2 TB/s")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    # allow_inf_nan: a float field given .inf or 1e999 is refused rather than carried into the run.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
