"""Cold-plate thermal resistance as a function of coolant flow.

Catalog points (Modelica Buildings, a 1 kW OCP accelerator module) are fitted with
R(q) = a + b · q^−0.8: a conduction term plus a convective term that follows the Dittus–Boelter
flow exponent, so the curve extrapolates physically below the measured range (R grows without bound
as flow stops) and flattens above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.catalog import CatalogError, cooling_catalog
from gigawatt.safety import excerpt
from gigawatt.units import parse_quantity

FLOW_EXPONENT = -0.8


@dataclass(frozen=True)
class ColdPlate:
    name: str
    conduction: float  # K/W, a
    convection: float  # K/W at 1 L/min, b
    source: str

    def resistance(self, flow_l_per_min: np.ndarray | float) -> np.ndarray:
        q = np.maximum(np.asarray(flow_l_per_min, dtype=float), 1e-6)
        return self.conduction + self.convection * q**FLOW_EXPONENT


def cold_plate(name: str) -> ColdPlate:
    plates = cooling_catalog().get("cold_plates", {})
    if name not in plates:
        raise CatalogError(f"unknown cold plate {excerpt(name)}; known: {', '.join(plates)}")
    entry = plates[name]
    flows = np.array([parse_quantity(q, "volume_flow") for q, _ in entry["points"]])
    res = np.array([parse_quantity(r, "thermal_resistance") for _, r in entry["points"]])
    design = np.column_stack([np.ones_like(flows), flows**FLOW_EXPONENT])
    (a, b), *_ = np.linalg.lstsq(design, res, rcond=None)
    return ColdPlate(name=name, conduction=float(a), convection=float(b), source=str(entry["source"]))
