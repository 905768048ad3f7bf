"""Leakage (static) power rising with die temperature (DESIGN §4.2, §4.8).

    P_leak(T, V) − P_leak(T_ref, V) = P_static · (V / V_max)^n · (exp(k · (T − T_ref)) − 1)

Subthreshold leakage grows exponentially with temperature (measured on nanometre processors over
20-85 C, De Vogeleer et al., arXiv 1404.3381); k = ln 2.5 / 40 K from the 2.5x rise between 90 and 130 C of
Liao, Li and He (ISLPED 2003). Idle power is measured at T_ref, so the model adds only the difference: a
hotter die draws more for the same clock and activity, which a power cap takes out of the dynamic share (a
lower clock), and a cooler one less. The power anchors are solved net of the leakage at their own
temperatures (power.anchors). Leakage falls with the core voltage (P = V·I_leak, with I_leak rising with V
through drain-induced barrier lowering), so a GPU held at its lowest clock leaks far less than at boost.
The catalog block is the GPU's `thermal` section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigawatt.units import parse_quantity


@dataclass(frozen=True)
class Leakage:
    static_w: float  # static power at the reference temperature and the top (boost) voltage
    reference_c: float
    per_kelvin: float
    voltage_exponent: float  # n in (V / V_max)^n

    @classmethod
    def of(cls, thermal: dict[str, Any]) -> Leakage:
        """From a GPU's catalog `thermal` block."""
        return cls(
            parse_quantity(thermal["leakage_power"]["value"], "power"),
            parse_quantity(thermal["leakage_reference_temp"]["value"], "temperature"),
            float(thermal["leakage_per_kelvin"]["value"]),
            float(thermal["leakage_voltage_exponent"]["value"]),
        )

    def voltage_scale(self, voltage_ratio: np.ndarray) -> np.ndarray:
        """Static power at V / V_max relative to its value at V_max."""
        return np.asarray(voltage_ratio, dtype=float) ** self.voltage_exponent

    def extra(self, temp_c: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """Static power above (or below) its reference-temperature value, W per GPU; `scale` from
        `voltage_scale` at each GPU's voltage. The exponential runs in float32, whose SIMD kernel is ~4x
        faster than float64's (the engine evaluates it every tick); its 1e-7 relative error is µW here."""
        return self.extra_w(temp_c, self.static_w * scale)

    def extra_w(self, temp_c: np.ndarray, static_w: np.ndarray | float) -> np.ndarray:
        """`extra` with the static power at each GPU's voltage given in watts (static_w × scale), for a
        caller that tables it per clock bin."""
        x = (self.per_kelvin * (np.asarray(temp_c, dtype=float) - self.reference_c)).astype(np.float32)
        return static_w * (np.exp(x).astype(float) - 1.0)

    def slope(self, temp_c: float) -> float:
        """dP/dT at a temperature at the top voltage, W/K."""
        return self.static_w * self.per_kelvin * float(np.exp(self.per_kelvin * (temp_c - self.reference_c)))
