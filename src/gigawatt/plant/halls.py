"""Each hall's own heat rejection: its chillers or dry coolers, with a capacity, in front of the thermal
mass of the hall's facility water loop (DESIGN-notes/campus.md).

The heat the hall's CDUs and CRAHs remove arrives in its facility water. While it fits the hall's heat
rejection, the water leaves at the plant's supply temperature (plant.plant); heat beyond it warms the loop,
M·c_p·dT/dt = Q_in − Q_out, the capacity-limited exchanger of thermal.cooling_unit with the plant's supply
as its setpoint. The state is that rise above the plant's supply, per hall: the CDUs' setpoints (and the
CRAHs' supply air, whose coils the same water feeds) are raised by it on the next tick. With no capacity
set the rise stays exactly 0 and nothing downstream moves.
"""

from __future__ import annotations

import numpy as np

from gigawatt.groups import group_sum
from gigawatt.thermal import cooling_unit


def step(
    rise: np.ndarray, heat_in_w: np.ndarray, capacity_w: np.ndarray, heat_capacity: float, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """(rise above the plant's supply in K, heat rejected in W) per hall after one tick."""
    mc = np.full_like(rise, heat_capacity)
    return cooling_unit.step(rise, heat_in_w, capacity_w, np.zeros_like(rise), mc, dt)


def heat_by_hall(per_unit_w: np.ndarray, halls: int) -> np.ndarray:
    """Heat removed by a hall's cooling units (CDUs or air zones, contiguous and equal in number)."""
    return group_sum(per_unit_w, len(per_unit_w) // halls)


def per_unit(rise: np.ndarray, units: int) -> np.ndarray:
    """Each cooling unit's share of its hall's rise (units of a hall are contiguous)."""
    return np.repeat(rise, units // len(rise))
