"""Leakage (static) power rising with die temperature (DESIGN §4.2, §4.8).

    P_leak(T) − P_leak(T_ref) = P_static · (exp(k · (T − T_ref)) − 1)

Subthreshold leakage grows exponentially with temperature (measured on nanometre processors over
20-85 C, De Vogeleer et al., arXiv 1404.3381); k = ln 2.5 / 40 K from the 2.5x rise between 90 and 130 C of
Liao, Li and He (ISLPED 2003). The catalog's power anchors hold at T_ref, so the model adds only the
difference: a hotter die draws more for the same clock and activity, which a power cap takes out of the
dynamic share (a lower clock), and a cooler one less. The catalog block is the GPU's `thermal` section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Leakage:
    static_w: float  # static power at the reference temperature
    reference_c: float
    per_kelvin: float

    def extra(self, temp_c: np.ndarray) -> np.ndarray:
        """Static power above (or below) its reference-temperature value, W per GPU."""
        return self.static_w * np.expm1(self.per_kelvin * (np.asarray(temp_c) - self.reference_c))

    def slope(self, temp_c: float) -> float:
        """dP/dT at a temperature, W/K."""
        return self.static_w * self.per_kelvin * float(np.exp(self.per_kelvin * (temp_c - self.reference_c)))
