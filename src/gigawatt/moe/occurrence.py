"""Rank of each entry among equal ids, in array order (first occurrence 0, next 1, …)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Ids spanning fewer values than this sort as uint16, which NumPy's stable sort handles by radix sort in
# O(n) (a stable sort of wider integers is a merge sort).
RADIX_SPAN = 1 << 16


def occurrence_rank(ids: NDArray[np.integer]) -> NDArray[np.int64]:
    """For a 1-D id array: how many earlier entries share each entry's id. Vectorised via a stable sort."""
    rank = np.empty(ids.size, dtype=np.int64)
    if ids.size == 0:
        return rank
    low = int(ids.min())
    span = int(ids.max()) - low + 1
    if span > RADIX_SPAN:
        return _rank_by_merge_sort(ids)
    offset = (ids - low).astype(np.uint16)
    order = np.argsort(offset, kind="stable")
    counts = np.bincount(offset, minlength=span)
    first_of_run = np.repeat(np.cumsum(counts) - counts, counts)  # start of each sorted position's run
    rank[order] = np.arange(ids.size) - first_of_run
    return rank


def _rank_by_merge_sort(ids: NDArray[np.integer]) -> NDArray[np.int64]:
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    position = np.arange(ids.size)
    run_start = np.ones(ids.size, dtype=bool)
    run_start[1:] = sorted_ids[1:] != sorted_ids[:-1]
    first_of_run = np.maximum.accumulate(np.where(run_start, position, 0))
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = position - first_of_run
    return rank
