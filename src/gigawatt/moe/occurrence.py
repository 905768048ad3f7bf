"""Rank of each entry among equal ids, in array order (first occurrence 0, next 1, …)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def occurrence_rank(ids: NDArray[np.integer]) -> NDArray[np.int64]:
    """For a 1-D id array: how many earlier entries share each entry's id. Vectorised via a stable sort."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    position = np.arange(ids.size)
    run_start = np.ones(ids.size, dtype=bool)
    run_start[1:] = sorted_ids[1:] != sorted_ids[:-1]
    first_of_run = np.maximum.accumulate(np.where(run_start, position, 0))
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = position - first_of_run
    return rank
