"""The catalog: GPUs, models and cooling equipment, every number with its source.

The YAML files beside this module are the single place where hardware and model figures live.
Each GPU figure is written `{value: "<number> <unit>", source: "..."}`; loading parses the unit and
keeps the source so reports and `gigawatt validate` can show where a number came from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from gigawatt.safety import excerpt
from gigawatt.units import parse_quantity


class CatalogError(ValueError):
    """An unknown catalog name, or a catalog entry that does not follow the schema."""


@cache
def _load(file: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(file).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _resolve(entries: dict[str, Any], name: str, what: str) -> str:
    """Find a catalog key by name or alias, case-insensitively."""
    wanted = name.strip().lower()
    for key, entry in entries.items():
        if key.lower() == wanted or wanted in (a.lower() for a in entry.get("aliases", [])):
            return key
    close = difflib.get_close_matches(name, list(entries), n=3, cutoff=0.4) if len(name) <= 100 else []
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise CatalogError(f"unknown {what} {excerpt(name)}{hint}; known: {', '.join(entries)}")


# Each GPU field and the dimension its unit must have.
_GPU_FIELDS: dict[str, str] = {
    "peak_bf16_dense": "compute",
    "peak_fp8_dense": "compute",
    "hbm_capacity": "bytes",
    "hbm_bandwidth": "bandwidth",
    "tdp": "power",
    "power_limit_min": "power",
    "idle_power": "power",
    "power_full_activity": "power",
    "clock_min": "frequency",
    "clock_boost": "frequency",
    "clock_step": "frequency",
    "voltage_min": "voltage",
    "voltage_max": "voltage",
    "voltage_knee_clock": "frequency",
    "temp_max_operating": "temperature",
    "temp_slowdown": "temperature",
    "temp_shutdown": "temperature",
    "temp_memory_max": "temperature",
    "nvlink_bandwidth": "bandwidth",
    "pcie_bandwidth": "bandwidth",
}
_GPU_PLAIN_FIELDS = ("memory_power_fraction",)


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model in internal units (W, MHz, degC, B, B/s, FLOP/s, V, J/K)."""

    name: str
    vendor: str
    peak_bf16_dense: float
    peak_fp8_dense: float | None
    hbm_capacity: float
    hbm_bandwidth: float
    tdp: float
    power_limit_min: float
    idle_power: float
    power_full_activity: float
    memory_power_fraction: float
    clock_min: float
    clock_boost: float
    clock_step: float
    voltage_min: float
    voltage_max: float
    voltage_knee_clock: float
    temp_max_operating: float
    temp_slowdown: float
    temp_shutdown: float
    temp_memory_max: float
    nvlink_bandwidth: float
    pcie_bandwidth: float
    sources: dict[str, str]
    memory_clock: float | None = None  # HBM clock, MHz (DCGM_FI_DEV_MEM_CLOCK); None: not catalogued

    def peak_flops(self, precision: str) -> float:
        """Dense tensor-core peak for a precision ("bf16" or "fp8")."""
        peak = self.peak_bf16_dense if precision == "bf16" else self.peak_fp8_dense
        if peak is None:
            raise CatalogError(
                f"{self.name} has no {precision} tensor cores ({self.sources['peak_fp8_dense']})"
            )
        return peak


@cache
def gpu(name: str) -> GpuSpec:
    entries = _load("gpus.yaml")
    key = _resolve(entries, name, "GPU")
    entry = entries[key]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field, dimension in _GPU_FIELDS.items():
        item = entry[field]
        raw = item["value"]
        values[field] = None if raw is None else parse_quantity(raw, dimension)
        sources[field] = item["source"]
    for field in _GPU_PLAIN_FIELDS:
        raw = entry[field]["value"]
        values[field] = None if raw is None else float(raw)
        sources[field] = entry[field]["source"]
    if "memory_clock" in entry:
        values["memory_clock"] = parse_quantity(entry["memory_clock"]["value"], "frequency")
        sources["memory_clock"] = entry["memory_clock"]["source"]
    spec = GpuSpec(name=key, vendor=entry["vendor"], sources=sources, **values)
    if "power_anchors" in entry:  # P_max (and w_m) solved so the model meets its measured anchors
        from gigawatt.power.anchors import solve

        spec = solve(spec, entry["power_anchors"], entry.get("thermal"))
    for field in ("power_full_activity", "memory_power_fraction"):
        if getattr(spec, field) is None:
            raise CatalogError(f"GPU {key}: {field} is null and no power_anchors solve it")
    return spec


def gpu_entry(name: str) -> dict[str, Any]:
    """A GPU's raw catalog entry (for sections a concern parses itself, such as `thermal`)."""
    entries = _load("gpus.yaml")
    return entries[_resolve(entries, name, "GPU")]


def model_names() -> list[str]:
    return list(_load("models.yaml"))


def model_entry(name: str) -> tuple[str, dict[str, Any]]:
    """The raw catalog entry of a model (see `gigawatt.arch.spec.load_model` for the parsed form)."""
    entries = _load("models.yaml")
    key = _resolve(entries, name, "model")
    return key, entries[key]


def cooling_catalog() -> dict[str, Any]:
    return _load("cooling.yaml")


def names(kind: str) -> list[str]:
    """Every name a scenario may give for a catalog entry of `kind` (gpus and models with their aliases;
    cold_plates, psu_curves, nics), in catalog order: the enums of `gigawatt schema`."""
    if kind in ("gpus", "models"):
        entries = _load(f"{kind}.yaml")
        return [n for key, entry in entries.items() for n in (key, *entry.get("aliases", []))]
    where = {
        "cold_plates": ("cooling.yaml", "cold_plates"),
        "psu_curves": ("cooling.yaml", "power_conversion"),
        "nics": ("networks.yaml", "nics"),
    }
    file, section = where[kind]
    return list(_load(file)[section])
