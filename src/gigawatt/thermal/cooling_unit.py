"""CDUs and air zones: a heat exchanger with a rated capacity in front of a thermal mass (DESIGN §4.3).

The unit holds its supply temperature at a setpoint (facility water + approach, or the CRAH supply air)
while the heat arriving fits its capacity. Heat beyond capacity, a lost pump or a warmer facility supply
warms the loop through its thermal mass: M·c_p·dT/dt = Q_in − Q_out. Vectorised over units.
"""

from __future__ import annotations

import numpy as np


def step(
    supply: np.ndarray,
    heat_in_w: np.ndarray,
    capacity_w: np.ndarray,
    setpoint: np.ndarray,
    heat_capacity: np.ndarray,
    dt: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance the supply temperatures one tick; return (new supply temperature, heat removed in W).

    The unit removes what arrives plus whatever brings the loop back to its setpoint within the tick,
    never more than its capacity and never less than nothing.
    """
    wanted = heat_in_w + heat_capacity * (supply - setpoint) / dt
    removed = np.minimum(np.maximum(wanted, 0.0), capacity_w)  # np.clip's arithmetic, without its wrapper
    return supply + (heat_in_w - removed) * dt / heat_capacity, removed
