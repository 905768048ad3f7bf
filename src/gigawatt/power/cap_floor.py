"""A power cap below what the GPU draws at its lowest clock (DESIGN §4.2).

The power limiter (SwPowerCap) can only lower the SM clock, down to the lowest supported clock. What
remains at that clock is idle power plus the memory term, which does not follow the SM clock (HBM runs
at its own fixed clock on data-centre parts; nvidia-smi lists one memory clock for H100/H200 under
load), so memory-bound work at 345 MHz still draws ~270 W on an H100 against a settable minimum cap
of 200 W. NVML documents no further lever for the power limiter (nvmlClocksEventReasonSwPowerCap:
"the clocks have been optimized to ensure not to cross the limit"; the limit is bounded below by
nvmlDeviceGetPowerManagementLimitConstraints), and measured H100/H200 caps near 200 W show memory power
above what the cap leaves it (Ujeniya et al., arXiv 2604.11391, "outliers consuming more memory
power"). The twin therefore holds the lowest clock, lets the GPU draw what that clock draws, and
reports the cap as unmet — a distinct event and summary figures (GPU-time over its cap, watts over) —
rather than counting the GPU as held at its cap.
"""

from __future__ import annotations

import numpy as np


def cap_excess_w(power_w: np.ndarray, cap_w: np.ndarray, unmet: np.ndarray) -> np.ndarray:
    """Watts each GPU draws above its cap where the cap is unmet (0 elsewhere)."""
    return np.where(unmet, np.maximum(power_w - cap_w, 0.0), 0.0)
