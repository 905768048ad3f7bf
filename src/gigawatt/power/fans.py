"""Server fan power rising with inlet air temperature, for air-cooled GPU servers (DESIGN §4.2, §4.8).

The BMC holds its fans at a floor speed while the inlet is cool and raises them linearly to full speed
as the inlet warms; fan power follows the affinity law, P ∝ speed³. Fans draw from the node's PSUs and
their power ends as heat in the exhaust air. Liquid-cooled nodes keep their small fans inside the host
power. Figures and their sources: `server_fans` in cooling.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.catalog import CatalogError, cooling_catalog
from gigawatt.safety import excerpt
from gigawatt.units import parse_quantity


@dataclass(frozen=True)
class ServerFans:
    name: str
    max_power_per_gpu: float  # W at full speed, per GPU slot of the server
    min_speed: float  # fraction of full speed
    ramp_start: float  # C: the floor speed up to here
    ramp_end: float  # C: full speed from here

    def speed(self, inlet_c: np.ndarray | float) -> np.ndarray:
        rise = np.clip(
            (np.asarray(inlet_c, dtype=float) - self.ramp_start) / (self.ramp_end - self.ramp_start), 0, 1
        )
        return self.min_speed + (1.0 - self.min_speed) * rise

    def power(self, inlet_c: np.ndarray | float, gpus_per_node: int) -> np.ndarray:
        """Fan power per node (W) at each inlet temperature."""
        return self.max_power_per_gpu * gpus_per_node * self.speed(inlet_c) ** 3


def server_fans(name: str) -> ServerFans:
    fans = cooling_catalog()["server_fans"]
    if name not in fans:
        raise CatalogError(f"unknown server fans {excerpt(name)}; known: {', '.join(fans)}")
    e = fans[name]
    return ServerFans(
        name=name,
        max_power_per_gpu=parse_quantity(e["max_power_per_gpu"]["value"], "power"),
        min_speed=float(e["min_speed"]["value"]),
        ramp_start=parse_quantity(e["ramp_start"]["value"], "temperature"),
        ramp_end=parse_quantity(e["ramp_end"]["value"], "temperature"),
    )
