"""GPU power from clock and activity (DESIGN §4.2).

    P = P_idle + (P_full − P_idle) · [w_c · a_c · (f/f_max) · (V(f)/V_max)^2 + w_m · a_m]

a_c and a_m are the fractions of time the math pipes and HBM are busy; w_m is the share of dynamic
power that saturated HBM traffic draws (catalog `memory_power_fraction`), w_c = 1 − w_m.
"""

from __future__ import annotations

import numpy as np

from gigawatt.catalog import GpuSpec
from gigawatt.power.dvfs import dynamic_scale


def gpu_power(
    gpu: GpuSpec, clocks_mhz: np.ndarray, compute_activity: np.ndarray, memory_activity: np.ndarray
) -> np.ndarray:
    w_m = gpu.memory_power_fraction
    dynamic = (1.0 - w_m) * compute_activity * dynamic_scale(gpu, clocks_mhz) + w_m * memory_activity
    return gpu.idle_power + (gpu.power_full_activity - gpu.idle_power) * dynamic
