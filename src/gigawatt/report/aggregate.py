"""Shrink telemetry to chart size: rows grouped into at most a few thousand time buckets.

A bucket holds one or more consecutive recorded intervals. Everything here is numpy over whole
columns, so millions of per-GPU rows cost a sort, not a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

MAX_POINTS = 2000

Reduction = Literal["mean", "max", "min"]


@dataclass(frozen=True)
class Buckets:
    """Which time bucket each row falls in, and the time each bucket is drawn at."""

    time_s: np.ndarray  # end of the last interval in the bucket
    of_row: np.ndarray  # bucket index of every row

    @property
    def count(self) -> int:
        return len(self.time_s)


def time_buckets(time_s: np.ndarray, max_points: int = MAX_POINTS) -> Buckets:
    """Group rows by interval end time, merging neighbouring intervals beyond `max_points` of them."""
    times, inverse = np.unique(time_s, return_inverse=True)
    n = min(len(times), max_points)
    # Steps of n/len(times) <= 1 between consecutive intervals, so no bucket is left empty.
    of_time = np.arange(len(times)) * n // max(len(times), 1)
    last_of_bucket = np.searchsorted(of_time, np.arange(n), side="right") - 1
    return Buckets(times[last_of_bucket], of_time[inverse.ravel()])


def reduce_by_bucket(buckets: Buckets, values: np.ndarray, how: Reduction) -> np.ndarray:
    """Mean, max or min of `values` within each bucket."""
    values = np.asarray(values, dtype=float)
    if how == "mean":
        sums = np.bincount(buckets.of_row, weights=values, minlength=buckets.count)
        return sums / np.bincount(buckets.of_row, minlength=buckets.count)
    out = np.full(buckets.count, -np.inf if how == "max" else np.inf)
    with np.errstate(invalid="ignore"):  # NaN (e.g. no rack budget) is meant to carry through
        (np.maximum if how == "max" else np.minimum).at(out, buckets.of_row, values)
    return out


def quantiles_by_bucket(buckets: Buckets, values: np.ndarray,
                        qs: tuple[float, ...]) -> dict[float, np.ndarray]:
    """Linear-interpolated quantiles of `values` within each bucket (across GPUs and merged intervals)."""
    values = np.asarray(values, dtype=float)
    ordered = values[np.lexsort((values, buckets.of_row))]
    counts = np.bincount(buckets.of_row, minlength=buckets.count)
    starts = np.cumsum(counts) - counts
    out = {}
    for q in qs:
        pos = starts + q * (counts - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        out[q] = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return out


def share_with_bit(buckets: Buckets, flags: np.ndarray, bit: int) -> np.ndarray:
    """Fraction of rows in each bucket whose bitmask has `bit` set."""
    return reduce_by_bucket(buckets, (np.asarray(flags, dtype=np.int64) & bit) != 0, "mean")
