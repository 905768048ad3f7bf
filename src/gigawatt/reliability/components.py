"""Failure components from the catalog (`catalog/failures.yaml`), at their reference temperature.

Each component's rate is its Llama 3 interruption count over the exposure of its counting unit (GPU-hours,
node-hours or job-hours of the 54-day run, DESIGN 4.5). Silent data corruption is the exception: Llama 3
counted the corruptions that were *detected*, so its onset rate is that count divided by the chance the
default detectors catch one. A scenario may instead take Meta's research-cluster node failure rates as the
basis (Kokolis et al., arXiv 2410.21680: r_f 6.50 on RSC-1, 2.34 on RSC-2 per 1000 node-days): every rate
is scaled so the Llama 3 counts' failures per node match r_f, keeping Llama 3's mix of causes. Overrides
(`ComponentOverride` in `config.py`) then scale, replace or disable a rate, and change its activation
energy, detection or repair time.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Protocol

from gigawatt.catalog import CatalogError, _load
from gigawatt.units import parse_quantity

UNITS = ("gpu", "node", "job")
SCOPES = ("gpu", "node", "fabric", "job")
TEMPERATURES = ("die", "hbm", "none")
SDC = "sdc"
RATE_BASES = ("llama3", "meta_rsc1", "meta_rsc2")


@dataclass(frozen=True)
class Component:
    """One failure class. Rates are per unit per second at the catalog's reference temperature."""

    name: str
    label: str
    category: str
    count: int  # Llama 3 Table 5 interruptions
    unit: str  # what the rate is counted per: gpu, node or job
    scope: str  # what a failure takes out of service: gpu, node, fabric or job
    temperature: str  # loop temperature that accelerates it: die, hbm or none
    activation_energy_ev: float
    rate_per_unit_s: float
    xid: int | None
    related_xids: tuple[int, ...]
    detection_s: float
    repair_median_s: float | None  # None: restart in place, nothing to repair
    repair_sigma: float
    supply_event_probability: float
    supply_aftermath_multiplier: float
    sources: dict[str, str]

    @property
    def takes_node(self) -> bool:
        """A failure drains a node (the job needs a spare or waits for the repair)."""
        return self.scope != "job"

    def units(self, n_gpus: int, gpus_per_node: int) -> int:
        """How many of this component's counting units a job of n_gpus holds."""
        return {"gpu": n_gpus, "node": n_gpus // gpus_per_node, "job": 1}[self.unit]


class Override(Protocol):
    """The fields of `config.ComponentOverride` that change a component."""

    enabled: bool
    rate_multiplier: float | None
    mtbf: float | None
    activation_energy: float | None
    detection: float | None
    repair: float | None


def _value(entry: dict[str, Any], field: str, dimension: str | None = None) -> Any:
    raw = entry[field]["value"]
    return parse_quantity(raw, dimension) if dimension else raw


@cache
def exposure_hours() -> dict[str, float]:
    """Unit-hours of each counting unit in the Llama 3 54-day run."""
    exp = _load("failures.yaml")["exposure"]
    gpus = _value(exp, "gpus")
    hours = _value(exp, "duration", "time") / 3600.0
    return {"gpu": gpus * hours, "node": gpus / _value(exp, "gpus_per_node") * hours, "job": hours}


def _parse(name: str, entry: dict[str, Any], sdc_detected_share: float) -> Component:
    unit, scope, temperature = entry["unit"], entry["scope"], entry["temperature"]
    for field, value, allowed in (
        ("unit", unit, UNITS),
        ("scope", scope, SCOPES),
        ("temperature", temperature, TEMPERATURES),
    ):
        if value not in allowed:
            raise CatalogError(f"failures.yaml: {name}.{field} is {value!r}; allowed: {', '.join(allowed)}")
    count = int(_value(entry, "count"))
    rate = count / (exposure_hours()[unit] * 3600.0)
    if name == SDC:
        rate /= sdc_detected_share
    sources = {k: v["source"] for k, v in entry.items() if isinstance(v, dict) and "source" in v}
    has_repair = "repair_median" in entry
    if has_repair == (scope == "job"):
        raise CatalogError(f"failures.yaml: {name} needs a repair time exactly when its scope is not job")
    return Component(
        name=name,
        label=entry["label"],
        category=entry["category"],
        count=count,
        unit=unit,
        scope=scope,
        temperature=temperature,
        activation_energy_ev=float(_value(entry, "activation_energy"))
        if "activation_energy" in entry
        else 0.0,
        rate_per_unit_s=rate,
        xid=_value(entry, "xid") if "xid" in entry else None,
        related_xids=tuple(_value(entry, "related_xids")) if "related_xids" in entry else (),
        detection_s=_value(entry, "detection", "time"),
        repair_median_s=_value(entry, "repair_median", "time") if has_repair else None,
        repair_sigma=float(_value(entry, "repair_sigma")) if has_repair else 0.0,
        supply_event_probability=float(entry.get("supply_event_probability", {"value": 0.0})["value"]),
        supply_aftermath_multiplier=float(entry.get("supply_aftermath_multiplier", {"value": 1.0})["value"]),
        sources=sources,
    )


@cache
def catalog_components() -> tuple[Component, ...]:
    """Every component of the catalog, in Llama 3 Table 5 order."""
    from gigawatt.reliability.sdc import default_detectors

    share = default_detectors().detected_share
    return tuple(_parse(name, entry, share) for name, entry in _load("failures.yaml")["components"].items())


def component_names() -> list[str]:
    return [c.name for c in catalog_components()]


def check_name(name: str) -> str:
    """The name itself, or a CatalogError naming the known components (and the closest ones)."""
    names = component_names()
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise CatalogError(f"unknown failure component {name!r}{hint}; known: {', '.join(names)}")


def basis_factor(rate_basis: str) -> float:
    """Multiplier on every catalog rate for a rate basis (1 for Llama 3's own counts)."""
    if rate_basis not in RATE_BASES:
        raise CatalogError(f"unknown rate basis {rate_basis!r}; known: {', '.join(RATE_BASES)}")
    if rate_basis == "llama3":
        return 1.0
    per_node_s = catalog_value("published", f"{rate_basis}_failure_rate") / 1000.0 / 86400.0
    llama3 = sum(c.count for c in catalog_components()) / (exposure_hours()["node"] * 3600.0)
    return per_node_s / llama3


def with_overrides(
    overrides: dict[str, Override] | None = None, rate_basis: str = "llama3"
) -> tuple[Component, ...]:
    """The catalog components on a rate basis with a scenario's overrides applied; disabled ones are left
    out. An override's mtbf replaces the rate whatever the basis."""
    overrides = overrides or {}
    for name in overrides:
        check_name(name)
    factor = basis_factor(rate_basis)
    out = []
    for c in catalog_components():
        o = overrides.get(c.name)
        if o is None:
            out.append(replace(c, rate_per_unit_s=c.rate_per_unit_s * factor))
            continue
        if not o.enabled:
            continue
        if o.repair is not None and c.repair_median_s is None:
            raise CatalogError(f"failure component {c.name} restarts the job in place; it has no repair time")
        rate = c.rate_per_unit_s * factor
        if o.mtbf is not None:
            rate = 1.0 / o.mtbf
        if o.rate_multiplier is not None:
            rate *= o.rate_multiplier
        out.append(
            replace(
                c,
                rate_per_unit_s=rate,
                activation_energy_ev=c.activation_energy_ev
                if o.activation_energy is None
                else o.activation_energy,
                detection_s=c.detection_s if o.detection is None else o.detection,
                repair_median_s=c.repair_median_s if o.repair is None else o.repair,
            )
        )
    return tuple(out)


def catalog_section(name: str) -> dict[str, Any]:
    """A top-level section of failures.yaml (storage, restart, sdc_detectors, published, ...)."""
    return _load("failures.yaml")[name]


def catalog_value(section: str, field: str, dimension: str | None = None) -> Any:
    return _value(catalog_section(section), field, dimension)
