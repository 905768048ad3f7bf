"""Reductions over equal, contiguous groups (GPUs of a node, nodes of a rack, GPUs of a replica).

NumPy's `reshape(-1, g).sum(1)` and `.min(1)` are slow for the small `g` a cluster has (8 GPUs per node:
37 µs and 150 µs for 16k GPUs); a product with a ones vector and a fold over strided views do the same
in a few µs, which matters in a loop that runs every tick.
"""

from __future__ import annotations

from functools import cache

import numpy as np


@cache
def _ones(size: int) -> np.ndarray:
    return np.ones(size)


def group_sum(values: np.ndarray, size: int) -> np.ndarray:
    if size == 1:
        return values.astype(float, copy=True)
    return values.reshape(-1, size) @ _ones(size)


def group_min(values: np.ndarray, size: int) -> np.ndarray:
    out = values[0::size].copy()
    for i in range(1, size):
        np.minimum(out, values[i::size], out=out)
    return out
