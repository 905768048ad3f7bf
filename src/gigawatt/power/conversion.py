"""AC/DC conversion losses: PSU or HVDC efficiency as a function of load (DESIGN §4.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.catalog import CatalogError, cooling_catalog
from gigawatt.safety import excerpt


@dataclass(frozen=True)
class ConversionCurve:
    name: str
    load: np.ndarray  # fraction of rated output
    efficiency: np.ndarray
    source: str

    def __call__(self, load_fraction: np.ndarray) -> np.ndarray:
        """Efficiency at each load; held flat outside the published points."""
        return np.interp(load_fraction, self.load, self.efficiency)


def conversion_curve(name: str) -> ConversionCurve:
    curves = cooling_catalog().get("power_conversion", {})
    if name not in curves:
        raise CatalogError(f"unknown power-conversion curve {excerpt(name)}; known: {', '.join(curves)}")
    entry = curves[name]
    return ConversionCurve(
        name=name,
        load=np.asarray(entry["load"], dtype=float),
        efficiency=np.asarray(entry["efficiency"], dtype=float),
        source=str(entry["source"]),
    )
