"""Heat rejection to outdoor air: cooling towers, dry coolers and chillers (DESIGN §4.8). Pure functions
over arrays of outdoor conditions; every parameter comes from `catalog/cooling.yaml` (`heat_rejection`,
`chillers`) with its source.

- A cooling tower leaves its water `approach` above the wet bulb; a dry cooler (and an air-cooled
  chiller's free-cooling coil) `approach` above the dry bulb.
- A chiller's COP is a fixed fraction η of the Carnot COP between its evaporating and condensing
  temperatures, η fitted to its full-load rating (AHRI 550/590 conditions); condensing sits a fixed lift
  above the leaving condenser water (water-cooled) or the ambient air (air-cooled), so the COP falls as
  the condenser warms. Part-load compressor losses are left out; the AHRI IPLV is the held-out check of
  that choice (`gigawatt validate physics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gigawatt import catalog
from gigawatt.units import parse_quantity

KINDS = ("cooling-tower", "dry-cooler", "chiller-air-cooled")
KELVIN = 273.15
KW_PER_TON = 3.517  # 12,000 Btu/h
_WATER = catalog.cooling_catalog()["fluids"]["water"]
WATER_CP = parse_quantity(_WATER["specific_heat"]["value"], "heat_capacity")  # J/(kg K)
KG_S_PER_GPM = 0.0631 * float(_WATER["density_kg_per_l"]["value"])  # 1 US gal/min = 0.0631 L/s


def _c(entry: dict) -> float:
    return parse_quantity(entry["value"], "temperature")


@dataclass(frozen=True)
class Rejection:
    """One kind of heat rejection, as the plant uses it."""

    kind: str
    approach_k: float  # leaving water above wet bulb (evaporative) or dry bulb
    evaporative: bool
    fan_fraction: float  # fan W per W of heat rejected
    hx_approach_k: float  # economiser heat exchanger, outdoor water to the loop
    air_cooled_chiller: bool  # the chiller condenses against ambient air (its fans inside its COP)
    carnot_fraction: float  # η of the chiller that rejects to this kind
    evaporator_approach_k: float
    condenser_range_k: float  # condenser water rise (water-cooled chillers)
    condensing_lift_k: float  # condensing above leaving condenser water, or above ambient
    min_condenser_c: float  # towers are throttled so the condenser never sees colder water
    min_lift_k: float


@cache
def rejection(kind: str, approach_k: float | None = None) -> Rejection:
    """The catalog's figures for `kind`, with its approach overridden where the scenario gives one."""
    if kind not in KINDS:
        raise ValueError(f"heat rejection {kind!r} is not one of {', '.join(KINDS)}")
    cool = catalog.cooling_catalog()
    hr, ch = cool["heat_rejection"][kind], cool["chillers"]
    air = kind == "chiller-air-cooled"
    evap = _c(ch["evaporator_approach"])
    return Rejection(
        kind=kind,
        approach_k=_c(hr["approach"]) if approach_k is None else approach_k,
        evaporative=bool(hr["evaporative"]),
        fan_fraction=float(hr["fan_power_fraction"]["value"]),
        hx_approach_k=_c(hr["economiser_hx_approach"]),
        air_cooled_chiller=air,
        carnot_fraction=fitted_carnot_fraction(air),
        evaporator_approach_k=evap,
        condenser_range_k=0.0 if air else _c(ch["condenser_water_range"]),
        condensing_lift_k=_c(ch["condensing_above_ambient" if air else "condensing_above_leaving_water"]),
        min_condenser_c=_c(ch["min_condenser_entering"]),
        min_lift_k=_c(ch["min_lift"]),
    )


def outdoor_water_c(r: Rejection, dry_bulb_c: np.ndarray, wet_bulb_c: np.ndarray) -> np.ndarray:
    """Water (or glycol) leaving the outdoor unit: approach above the wet bulb (towers) or dry bulb."""
    return (wet_bulb_c if r.evaporative else dry_bulb_c) + r.approach_k


def condensing_c(
    r: Rejection, dry_bulb_c: np.ndarray, outdoor_c: np.ndarray, load: float = 1.0
) -> np.ndarray:
    """Refrigerant condensing temperature: above the ambient (air-cooled) or above the condenser water
    leaving at `load` × its design range (water-cooled), the entering side floored at `min_condenser_c`."""
    base = dry_bulb_c if r.air_cooled_chiller else outdoor_c
    return np.maximum(base, r.min_condenser_c) + r.condenser_range_k * load + r.condensing_lift_k


def carnot_cop(
    evaporating_c: np.ndarray | float, condensing_c: np.ndarray | float, min_lift_k: float
) -> np.ndarray:
    te = np.asarray(evaporating_c, dtype=float) + KELVIN
    lift = np.maximum(np.asarray(condensing_c, dtype=float) + KELVIN - te, min_lift_k)
    return te / lift


def chiller_cop(r: Rejection, leaving_chilled_c: np.ndarray | float, condensing: np.ndarray) -> np.ndarray:
    """COP (heat removed per W of compressor, and condenser fans for air-cooled) at these temperatures."""
    evap = np.asarray(leaving_chilled_c, dtype=float) - r.evaporator_approach_k
    return r.carnot_fraction * carnot_cop(evap, condensing, r.min_lift_k)


@cache
def fitted_carnot_fraction(air_cooled: bool) -> float:
    """η = rated COP / Carnot COP at the AHRI 550/590 standard rating (fitted to the full-load figure)."""
    ch = catalog.cooling_catalog()["chillers"]
    evap = _c(ch["rating_chilled_water_leaving"]) - _c(ch["evaporator_approach"])
    if air_cooled:
        cond = _c(ch["rating_ambient"]) + _c(ch["condensing_above_ambient"])
        rated = float(ch["air_cooled_rated_cop"]["value"])
    else:
        cond = _c(ch["rating_condenser_water_entering"]) + _c(ch["condenser_water_range"])
        cond += _c(ch["condensing_above_leaving_water"])
        rated = float(ch["water_cooled_rated_cop"]["value"])
    return rated / float(carnot_cop(evap, cond, _c(ch["min_lift"])))


def iplv_cop(air_cooled: bool) -> float:
    """The model's integrated part-load value at the AHRI 550/590 IPLV conditions: each load point's
    condenser temperature, weighted 1/42/45/12 %."""
    ch = catalog.cooling_catalog()["chillers"]
    r = rejection("chiller-air-cooled" if air_cooled else "cooling-tower")
    weights = ch["iplv_weights"]["value"]
    temps = [
        parse_quantity(v, "temperature")
        for v in ch["iplv_ambient" if air_cooled else "iplv_condenser_entering"]["value"]
    ]
    leaving = _c(ch["rating_chilled_water_leaving"])
    total = 0.0
    for w, load, t in zip(weights, (1.0, 0.75, 0.5, 0.25), temps, strict=True):
        # Rated with its own condenser: air-cooled at ambient t, water-cooled at entering water t.
        cond = condensing_c(r, np.array(t), np.array(t), load)
        total += w * float(chiller_cop(r, leaving, cond))
    return total
