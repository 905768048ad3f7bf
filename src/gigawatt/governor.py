"""The clock governor: f = min(f_boost, f_power, f_thermal, f_brake), with NVML-style reason flags.

The power limiter (SwPowerCap) and the software thermal limiter (SwThermalSlowdown) both pick the
highest clock whose tick-averaged power fits a budget; the thermal budget is the power that brings the
die exactly to its max operating temperature by the end of the tick. Hardware slowdown (die at its
slowdown temperature) and the power brake (a lost feed or PSU) halve the clock on top.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# nvmlClocksEventReason* bit values (nvidia-ml-py).
SW_POWER_CAP = 0x4
HW_SLOWDOWN = 0x8
SW_THERMAL_SLOWDOWN = 0x20
HW_THERMAL_SLOWDOWN = 0x40
HW_POWER_BRAKE_SLOWDOWN = 0x80

REASON_NAMES = {
    SW_POWER_CAP: "SwPowerCap",
    HW_SLOWDOWN: "HwSlowdown",
    SW_THERMAL_SLOWDOWN: "SwThermalSlowdown",
    HW_THERMAL_SLOWDOWN: "HwThermalSlowdown",
    HW_POWER_BRAKE_SLOWDOWN: "HwPowerBrakeSlowdown",
}


class HighestAtMost:
    """Exact O(1) inverse of a non-decreasing table: for each query x, the highest k with table[k] <= x
    (−1 where none).

    `np.searchsorted` costs ~35 ns per query on unsorted queries (0.6 ms for 16k GPUs). Here a uniform grid
    of cells no wider than a third of the smallest step between distinct table values is laid over the
    table: any three neighbouring cells hold at most one step, so whatever cell rounding puts x in, the
    answer is one of two bins split by one threshold — three gathers and a compare.
    """

    MAX_CELLS = 1 << 16

    def __init__(self, table: np.ndarray):
        table = np.asarray(table, dtype=float)
        if np.any(np.diff(table) < 0):
            raise ValueError("table must be non-decreasing")
        self.table = table
        distinct = np.unique(table)
        gap = float(np.diff(distinct).min()) if len(distinct) > 1 else 1.0
        width = gap / 3.0
        cells = int(np.ceil((distinct[-1] - distinct[0]) / width)) + 3
        self.exact = cells <= self.MAX_CELLS
        if not self.exact:
            return
        self.origin, self.scale, self.cells = float(distinct[0]), 1.0 / width, cells
        # For cell c: every bin at or below the previous cell's edge fits, and the next step is `threshold`.
        prev_edge = self.origin + (np.arange(cells) - 1) * width
        self.low = np.searchsorted(table, prev_edge, side="right") - 1
        has_next = self.low + 1 < len(table)
        self.threshold = np.where(has_next, table[np.minimum(self.low + 1, len(table) - 1)], np.inf)
        self.high = np.searchsorted(table, self.threshold, side="right") - 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.exact:
            return np.searchsorted(self.table, x, side="right") - 1
        pos = np.subtract(x, self.origin)
        np.multiply(pos, self.scale, out=pos)
        # Clamped to the cells (±inf to the end ones; x must not be NaN): the ufuncs, not np.clip, whose
        # Python wrapper costs as much as the pass on a cluster's worth of GPUs.
        np.maximum(pos, 0.0, out=pos)
        np.minimum(pos, self.cells - 1, out=pos)
        cell = pos.astype(np.int32)
        return np.where(x >= self.threshold.take(cell), self.high.take(cell), self.low.take(cell))


def highest_bin_within(
    budget_w: np.ndarray,
    light_query: Callable[[np.ndarray], np.ndarray] | None,
    saturated: HighestAtMost,
    light: HighestAtMost,
) -> np.ndarray | int:
    """The highest clock bin whose tick-averaged power fits `budget_w` (−1 where none does).

    A GPU's power at bin k is min(light(k), P_busy[k]): with the tick's work it either finishes and idles
    (the "light" curve, rising in k) or is busy all tick. Both grow with k, so the power fits when either
    does, and the answer is the larger of two look-ups: `saturated` inverts P_busy with the budget, `light`
    inverts the light curve's table with `light_query` (the caller maps the budget onto that table, e.g.
    (budget − P_idle) / tokens for J per token). GPUs whose budget covers P_busy at the top clock need
    neither; when that is every GPU, the answer is the scalar top bin. `light_query` is evaluated lazily
    (a callable on the tight GPUs' indices) to keep the common case cheap.
    """
    top = len(saturated.table) - 1
    is_tight = budget_w < saturated.table[-1]
    count = np.count_nonzero(is_tight)
    if count == 0:
        return top
    if light_query is None and count == len(budget_w):  # every GPU tight (training under its cap)
        return saturated(budget_w)
    tight = np.flatnonzero(is_tight)
    k = np.full(len(budget_w), top)
    k[tight] = saturated(budget_w[tight])
    if light_query is not None:
        k[tight] = np.maximum(k[tight], light(light_query(tight)))
    return k
