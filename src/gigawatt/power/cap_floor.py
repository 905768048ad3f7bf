"""A power cap below what the GPU draws at its lowest clock (DESIGN §4.2).

The power limiter (SwPowerCap) can only lower the SM clock, down to the lowest supported clock. What
remains at that clock is idle power plus the memory term, which does not follow the SM clock (HBM runs at
its own clock; that the limiter leaves it alone is an assumption: no measurement of a lowered HBM clock
under a cap was found). So memory-saturated work at 345 MHz would still draw ~260 W on an H100 against
a settable minimum cap of 200 W. NVML documents the limiter as a clock lever only
(nvmlClocksEventReasonSwPowerCap: "The clocks have been optimized to ensure not to exceed currently set
power limits"; DCGM: "SW Power Scaling algorithm is reducing the clocks below requested clocks"); the
hardware slowdown that halves clocks answers transients ("Fast Trigger protection"), not a set cap.
Measured H100/H200 caps near 200 W show memory power above what the cap leaves it (Ujeniya et al.,
arXiv 2604.11391, "outliers consuming more memory power"). The twin therefore holds the lowest clock,
lets the GPU draw what that clock draws, and reports the cap as unmet (a distinct event and summary
figures: GPU-time over its cap, watts over) rather than counting the GPU as held at its cap.
"""

from __future__ import annotations

import numpy as np


def cap_excess_w(power_w: np.ndarray, cap_w: np.ndarray, unmet: np.ndarray) -> np.ndarray:
    """Watts each GPU draws above its cap where the cap is unmet (0 elsewhere)."""
    return np.where(unmet, np.maximum(power_w - cap_w, 0.0), 0.0)
