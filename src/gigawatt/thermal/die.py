"""Die temperature: a lumped RC integrated exactly over each tick (DESIGN §4.3).

    C · dT/dt = P − (T − T_in)/R   ⇒   T ← T_ss + (T − T_ss)·exp(−dt/τ),  T_ss = T_in + P·R,  τ = R·C

Exact for constant P and T_in over the tick, so it is stable for any tick length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def decay(dt: float, resistance: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """exp(−dt/τ) per die."""
    return np.exp(-dt / (resistance * capacity))


def step(
    temp: np.ndarray,
    power: np.ndarray,
    coolant: np.ndarray,
    resistance: np.ndarray,
    capacity: np.ndarray,
    dt: float,
    e: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance die temperatures by one tick; return (new temperature, heat passed to the coolant in J).

    The heat out follows from the energy balance of the die, P·dt − C·ΔT, so energy is conserved to
    rounding whatever the tick.
    """
    steady = coolant + power * resistance
    new = steady + (temp - steady) * e
    heat_out = power * dt - capacity * (new - temp)
    return new, heat_out


def step_temperature(
    temp: np.ndarray, power: np.ndarray, coolant: np.ndarray, resistance: np.ndarray, e: np.ndarray
) -> np.ndarray:
    """`step` without the heat flow, for callers that take the die energy balance in aggregate."""
    steady = coolant + power * resistance
    return steady + (temp - steady) * e


@dataclass(frozen=True)
class HoldCoefficients:
    """power_to_hold as an affine function of die and coolant temperature, for a loop that evaluates it
    every tick with fixed resistances: P = a − b·T − c·T_coolant."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    def power(self, temp: np.ndarray, coolant: np.ndarray) -> np.ndarray:
        return self.a - self.b * temp - self.c * coolant


def hold_coefficients(limit: float, resistance: np.ndarray, e: np.ndarray) -> HoldCoefficients:
    scale = 1.0 / ((1.0 - e) * resistance)
    return HoldCoefficients(a=limit * scale, b=e * scale, c=1.0 / resistance)


def power_to_hold(
    temp: np.ndarray, limit: float, coolant: np.ndarray, resistance: np.ndarray, e: np.ndarray
) -> np.ndarray:
    """The constant power that brings the die exactly to `limit` by the end of the tick."""
    return hold_coefficients(limit, resistance, e).power(temp, coolant)
