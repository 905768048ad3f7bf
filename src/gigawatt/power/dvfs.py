"""DVFS: the GPU's clock grid and its voltage-frequency curve (DESIGN §4.2)."""

from __future__ import annotations

import numpy as np

from gigawatt.catalog import GpuSpec


def clock_grid(gpu: GpuSpec) -> np.ndarray:
    """Supported SM clocks (MHz), lowest first, in the GPU's clock steps up to its boost clock."""
    steps = round((gpu.clock_boost - gpu.clock_min) / gpu.clock_step)
    return gpu.clock_min + gpu.clock_step * np.arange(steps + 1)


def voltage(gpu: GpuSpec, clocks_mhz: np.ndarray) -> np.ndarray:
    """Core voltage: at its floor up to the knee clock, then linear to its boost value."""
    return np.interp(
        clocks_mhz,
        [gpu.clock_min, gpu.voltage_knee_clock, gpu.clock_boost],
        [gpu.voltage_min, gpu.voltage_min, gpu.voltage_max],
    )


def dynamic_scale(gpu: GpuSpec, clocks_mhz: np.ndarray) -> np.ndarray:
    """(f / f_max) · (V(f) / V_max)^2: dynamic power at a clock relative to boost, same activity."""
    v = voltage(gpu, clocks_mhz)
    return (clocks_mhz / gpu.clock_boost) * (v / gpu.voltage_max) ** 2


def half_clock_index(clocks_mhz: np.ndarray) -> np.ndarray:
    """For each clock bin, the bin at half that clock (hardware slowdown halves the clock)."""
    idx = np.searchsorted(clocks_mhz, clocks_mhz / 2.0, side="right") - 1
    return np.maximum(idx, 0)
