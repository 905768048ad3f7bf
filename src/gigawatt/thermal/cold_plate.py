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

    def convective(self, flow_l_per_min: np.ndarray | float) -> np.ndarray:
        """The fitted convective term b·q^−0.8 (K/W) at the flow (L/min); the plate's whole resistance is
        `conduction` plus this."""
        return self.convection * np.maximum(flow_l_per_min, 1e-6) ** FLOW_EXPONENT


def liquid_path(
    plate: ColdPlate, flow_l_per_min: np.ndarray | float, density_kg_per_l: float, specific_heat: float
) -> tuple[float, np.ndarray]:
    """The liquid stack's two resistances (K/W) below the package, at the flow (L/min) through each plate:
    package to plate, the plate's conduction term; plate to loop supply, its convective term plus the
    coolant's own rise 1/(2·ṁ·c_p) (the plate sees the mean of inlet and outlet). As flow stops the second
    grows without bound and the stack heats at P/(C_k + C_s)."""
    m_dot = np.maximum(flow_l_per_min, 1e-6) * density_kg_per_l / 60.0  # kg/s
    return plate.conduction, plate.convective(flow_l_per_min) + 0.5 / (m_dot * specific_heat)


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
