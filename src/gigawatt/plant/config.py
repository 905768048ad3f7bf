"""The scenario's `site:` section: the day's weather and the plant that rejects the heat to it (DESIGN §4.8).

Without a site the facility side is fixed (constant supply temperatures, constant whole-plant COPs).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gigawatt.fields import Delay, NonNegativePower, Strict, Temperature
from gigawatt.plant.heat_rejection import KINDS


class DailyWeather(Strict):
    """A design day: the ASHRAE Handbook-Fundamentals hourly profile between each day's minimum (about
    05:00) and maximum (14:00-15:00), for dry bulb and wet bulb alike, repeating every 24 h."""

    kind: Literal["daily"] = Field(
        description="daily: a design-day profile between the given minima and maxima"
    )
    dry_bulb_min: Temperature = Field(description="lowest outdoor dry-bulb temperature of the day")
    dry_bulb_max: Temperature = Field(description="highest outdoor dry-bulb temperature of the day")
    wet_bulb_min: Temperature = Field(description="lowest outdoor wet-bulb temperature of the day")
    wet_bulb_max: Temperature = Field(description="highest outdoor wet-bulb temperature of the day")
    start: Delay = Field("0 h", description="time of day at the run's start (0 h = midnight)")

    @model_validator(mode="after")
    def _ordered(self) -> DailyWeather:
        if self.dry_bulb_min > self.dry_bulb_max or self.wet_bulb_min > self.wet_bulb_max:
            raise ValueError("the minimum dry (wet) bulb must not exceed the maximum")
        # Both follow one profile, so the wet bulb stays at or below the dry bulb all day iff it does at
        # both ends of the range.
        if self.wet_bulb_max > self.dry_bulb_max or self.wet_bulb_min > self.dry_bulb_min:
            raise ValueError("the wet bulb cannot exceed the dry bulb (check wet_bulb_min/max)")
        if not (self.dry_bulb_min > -60.0 and self.dry_bulb_max < 60.0):
            raise ValueError("the dry bulb must stay within -60..60 C")
        if self.start >= 86_400.0:
            raise ValueError(f"start is a time of day: under 24 h, not {self.start / 3600:g} h")
        return self


class FileWeather(Strict):
    """An EnergyPlus weather file (`.epw`) or a CSV with the header `hour,dry_bulb_c,wet_bulb_c`."""

    kind: Literal["file"] = Field(description="file: hourly weather from a file")
    path: str = Field(description="weather file, relative to the scenario file")
    start: Delay = Field(
        "0 h",
        description="where in the file the run starts (an EPW's day N of the year starts at (N-1)·24 h)",
    )


class PlantConfig(Strict):
    heat_rejection: Literal["cooling-tower", "dry-cooler", "chiller-air-cooled"] = Field(
        description=f"what rejects heat outdoors: one of {', '.join(KINDS)}"
    )
    approach: Temperature | None = Field(
        None, description="leaving water above wet bulb (tower) or dry bulb (default: the catalog's)"
    )
    economiser: bool = Field(True, description="free cooling from outdoor water when it is cold enough")
    chiller: bool = Field(
        True, description="a chiller trims what the economiser cannot (false: chiller-less)"
    )
    chiller_capacity: NonNegativePower | None = Field(
        None, description="chiller cooling capacity (default: enough to hold every setpoint)"
    )

    @field_validator("approach")
    @classmethod
    def _positive(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 < v < 30.0:
            raise ValueError("must be more than 0 C and under 30 C")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PlantConfig:
        if not self.chiller and not self.economiser:
            raise ValueError("a plant without a chiller needs economiser: true (nothing else cools)")
        if self.heat_rejection == "chiller-air-cooled" and not self.chiller:
            raise ValueError("heat_rejection chiller-air-cooled needs chiller: true")
        if self.chiller_capacity is not None and not self.economiser:
            raise ValueError(
                "chiller_capacity needs economiser: true (a plant whose only cooling is short of the heat "
                "has no steady state)"
            )
        if self.chiller_capacity is not None and not self.chiller:
            raise ValueError("chiller_capacity is set but chiller is false")
        return self


class Site(Strict):
    weather: Annotated[
        DailyWeather | FileWeather,
        Field(discriminator="kind", description="outdoor conditions: a daily profile or a weather file"),
    ]
    plant: PlantConfig = Field(description="how heat leaves the site: towers, dry coolers or chillers")
