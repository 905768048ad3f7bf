"""The facility plant: supply temperatures for the CDUs and CRAHs, and the power it takes to reject the
heat they remove (DESIGN §4.8). The engine asks each tick, without knowing which plant it has:

    water_c, air_c = plant.supply(tick)        # facility water into the CDUs, CRAH supply air
    cooling_w = plant.power(tick, q_liquid, q_air)
    columns = plant.flush()                    # means over the recording interval, for facility.parquet

`FixedPlant` is the facility without a `site:` section: constant supply temperatures and constant
whole-plant COPs (catalog `plant`). `SitePlant` follows the weather. It has up to two water loops, each
with a setpoint and a design supply-to-return rise ΔT at variable flow (so the return is setpoint + ΔT at
any load): the facility water of a liquid hall's CDUs, and the chilled water of the CRAH coils (setpoint =
supply air − coil approach). Outdoor water at `t_free` (tower or dry cooler, plus the economiser heat
exchanger) pre-cools the return; the chiller takes the rest, a share f = clip((t_free − set)/ΔT, 0, 1)
of the heat. When the chiller is missing or short of capacity, the loop finds the steady state in which
the economiser carries the remainder: supply = t_free − ΔT·(chiller heat)/(loop heat), never below the
setpoint. So a chiller-less warm-water loop floats at t_free above its setpoint, and a capacity-short
air loop lets its supply air rise. Shortfalls are judged on the previous tick's heat (explicit state);
the CDUs' and zones' own thermal masses give the dynamics.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gigawatt import catalog
from gigawatt.plant import heat_rejection as hr
from gigawatt.plant.config import DailyWeather, Site
from gigawatt.plant.weather import Weather, WeatherError, design_day, read_weather
from gigawatt.units import parse_quantity

if TYPE_CHECKING:
    from gigawatt.scenario import Scenario

_COLUMNS = (
    "outdoor_dry_bulb_c",
    "outdoor_wet_bulb_c",
    "facility_water_c",  # into the CDUs (liquid hall) or the CRAH coils (air hall)
    "supply_air_c",
    "chiller_kw",
    "economiser_share",  # of the heat, rejected without the chiller
)


class FixedPlant:
    """No site: the supply temperatures the scenario names, and heat / a fixed COP per path."""

    def __init__(self, water_c: float, air_c: float):
        plant = catalog.cooling_catalog()["plant"]
        self.air_cop = float(plant["air_plant_cop"]["value"])
        self.liquid_cop = float(plant["liquid_cop"]["value"])
        self.water_c, self.air_c = water_c, air_c

    def supply(self, tick: int) -> tuple[float, float]:
        return self.water_c, self.air_c

    def power(self, tick: int, q_liquid_w: float, q_air_w: float) -> float:
        # The liquid path's COP is a whole-plant figure (pumps included), so no separate pump term.
        return q_liquid_w / self.liquid_cop + q_air_w / self.air_cop

    def flush(self) -> dict[str, float]:
        return {}


class SitePlant:
    """A plant driven by the weather at each tick's time (see the module docstring)."""

    def __init__(
        self,
        site: Site,
        weather: Weather,
        times_s: np.ndarray,
        loops: list[tuple[str, float, float]],
        coil_approach_k: float,
        extra_w_per_w: tuple[float, float],
    ):
        """loops: (name "liquid" or "air", water setpoint C, design ΔT K); extra_w_per_w: watts per watt
        of heat drawn by the CDUs' pumps (liquid) and the CRAHs' fans (air), which the plant pays too."""
        pc = site.plant
        r = self.r = hr.rejection(pc.heat_rejection, pc.approach)
        cool = catalog.cooling_catalog()["plant_loops"]
        self.db, self.wb = weather.at(times_s)
        outdoor = hr.outdoor_water_c(r, self.db, self.wb)
        self.t_free = outdoor + r.hx_approach_k if pc.economiser else np.full_like(outdoor, np.inf)
        self.cap = (
            0.0 if not pc.chiller else (math.inf if pc.chiller_capacity is None else pc.chiller_capacity)
        )
        condensing = hr.condensing_c(r, self.db, outdoor)
        self.names = [name for name, _, _ in loops]
        self.set_c = np.array([s for _, s, _ in loops])
        self.dt_k = np.array([d for _, _, d in loops])
        # Chiller share of each loop's heat, and its COP, per tick (loops × ticks).
        self.share = np.clip((self.t_free[None, :] - self.set_c[:, None]) / self.dt_k[:, None], 0.0, 1.0)
        self.cop = np.stack([hr.chiller_cop(r, s, condensing) for s in self.set_c])
        kg_s = hr.KG_S_PER_GPM
        chw = float(cool["chilled_water_pump_w_per_gpm"]["value"]) / kg_s  # W per kg/s
        self.loop_pump = chw / (hr.WATER_CP * self.dt_k)  # W per W of loop heat
        cw = float(cool["condenser_water_pump_w_per_gpm"]["value"]) / kg_s
        self.condenser_pump = 0.0 if r.air_cooled_chiller else cw / (hr.WATER_CP * r.condenser_range_k)
        self.extra = np.array([extra_w_per_w[0] if n == "liquid" else extra_w_per_w[1] for n in self.names])
        self.coil = coil_approach_k
        self._water, self._air = float(self.set_c[0]), float(self.set_c[-1]) + coil_approach_k
        self.q_last = np.zeros(len(loops))
        self.acc = np.zeros(len(_COLUMNS))
        self.n_acc = 0

    def supply(self, tick: int) -> tuple[float, float]:
        share = self.share[:, tick]
        total = float((share * self.q_last).sum())
        # Share of its need the chiller meets; a chiller-less plant meets none, loaded or not.
        served = min(1.0, self.cap / total) if total > 0 else (1.0 if self.cap > 0 else 0.0)
        supply = self.set_c
        if served < 1.0:  # the economiser carries the rest, from warmer water
            supply = np.maximum(self.set_c, self.t_free[tick] - self.dt_k * share * served)
        water = float(supply[0]) if self.names[0] == "liquid" else math.nan
        air = float(supply[-1]) + self.coil
        self._water, self._air = float(supply[0]), air
        return water, air

    def power(self, tick: int, q_liquid_w: float, q_air_w: float) -> float:
        q = np.array([q_liquid_w if n == "liquid" else q_air_w for n in self.names])
        need = self.share[:, tick] * q
        total = need.sum()
        carried = need if total <= self.cap else need / total * self.cap
        chiller_w = float((carried / self.cop[:, tick]).sum())
        heat = float(q.sum())
        rejected = heat + chiller_w
        r = self.r
        # Air-cooled chillers' condenser fans are inside their COP; their free-cooling coil's are not.
        fans = r.fan_fraction * (heat - float(carried.sum()) if r.air_cooled_chiller else rejected)
        pumps = float((q * self.loop_pump).sum()) + self.condenser_pump * rejected
        self.q_last = q
        free = 1.0 - float(carried.sum()) / heat if heat > 0 else 1.0
        self.acc += (self.db[tick], self.wb[tick], self._water, self._air, chiller_w / 1e3, free)
        self.n_acc += 1
        return chiller_w + fans + pumps + float((q * self.extra).sum())

    def flush(self) -> dict[str, float]:
        out = dict(zip(_COLUMNS, (self.acc / max(self.n_acc, 1)).tolist(), strict=True))
        self.acc[:] = 0.0
        self.n_acc = 0
        return out


def weather_for(site: Site) -> Weather:
    w = site.weather
    if isinstance(w, DailyWeather):
        return design_day(w.dry_bulb_min, w.dry_bulb_max, w.wet_bulb_min, w.wet_bulb_max, w.start)
    return read_weather(w.path, w.start)


def build_plant(sc: Scenario, times_s: np.ndarray) -> FixedPlant | SitePlant:
    """The plant of scenario `sc` for ticks at `times_s`."""
    co = sc.cooling
    liquid = co.kind == "liquid" and co.liquid is not None
    if sc.site is None:
        return FixedPlant(co.liquid.facility_supply if liquid else math.nan, co.air.supply)
    weather = weather_for(sc.site)
    if not weather.covers(float(times_s[-1])):
        raise WeatherError(
            f"site.weather.path: the weather covers {weather.time_s[-1] / 3600:g} h from site.weather.start; "
            f"the run needs {times_s[-1] / 3600:g} h"
        )
    cool = catalog.cooling_catalog()
    loops_cat, plant = cool["plant_loops"], cool["plant"]
    temp = lambda e: parse_quantity(e["value"], "temperature")  # noqa: E731
    coil = temp(loops_cat["crah_coil_approach"])
    loops = [("air", co.air.supply - coil, temp(loops_cat["chilled_water_delta_t"]))]
    if liquid:
        loops.insert(0, ("liquid", co.liquid.facility_supply, temp(loops_cat["facility_water_delta_t"])))
    extra = (float(plant["cdu_pump_power_fraction"]["value"]), float(plant["crah_fan_fraction"]["value"]))
    return SitePlant(sc.site, weather, times_s, loops, coil, extra)
