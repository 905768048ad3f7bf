"""Fast row-wise top-k for router score matrices (tokens × experts).

np.argpartition is slow on short rows (about 0.8 M rows/s for 256 columns), while np.sort on int32 runs
SIMD-accelerated. So each score is turned into an order-preserving int32 key whose lowest bits are replaced
by the column index; one int32 sort of the keys then yields the order and the indices together. Dropping
those low mantissa bits can only confuse near-ties (relative gap below about 2^-(23-index_bits)); rows
where that may have happened are detected and redone exactly. Wide rows are first screened by groups
(_top_k_grouped): only the columns of each row's k + 1 best groups can hold its k + 1 best keys, so only
those are keyed and sorted (36 of 256 for top-8); the answer is the same as sorting whole rows. Rows are
processed in chunks that stay in cache, optionally on several threads (NumPy releases the GIL while
sorting).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gigawatt.moe.chunks import for_chunks
from gigawatt.moe.rowwise import row_max, take_rows

# Above this many index bits too little mantissa is left for the key trick to pay off.
MAX_INDEX_BITS = 12
# Slab counts _top_k_grouped tries, preferred first (fewest columns to sort for top-8 of 256).
SLABS = (4, 2)


def top_k(
    scores: NDArray[np.float32], k: int, *, workers: int = 1
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Columns of the k largest scores of each row, best first, and their scores.

    Ties go to the lower column. Entries equal to -inf are never chosen: their slots come back as -1 with
    score -inf. scores must be a 2-D float32 array. NaN scores raise ValueError (a NaN with its sign bit set
    ranks lowest and may go unnoticed).
    """
    n_rows, n_cols = scores.shape
    if not 0 < k <= n_cols:
        raise ValueError(f"k must be within 1..{n_cols}, got {k}")
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    index = np.empty((n_rows, k), dtype=np.int32)
    value = np.empty((n_rows, k), dtype=np.float32)

    def run(rows: slice) -> None:
        index[rows], value[rows] = _top_k_chunk(scores[rows], k)

    for_chunks(n_rows, run, workers)
    return index, value


def _top_k_chunk(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    n_cols = scores.shape[1]
    bits = max(1, (n_cols - 1).bit_length())
    if bits > MAX_INDEX_BITS or k == n_cols:
        return _marked(*_top_k_exact(scores, k))
    slabs = _slabs(n_cols, k)
    if slabs:
        index, unsure = _top_k_grouped(scores, k, bits, slabs)
    else:
        index, unsure = _top_k_by_keys(_keys(scores.view(np.int32), np.arange(n_cols), bits), k, bits)
    rows = np.flatnonzero(unsure)
    if rows.size:
        index[rows] = _top_k_exact(scores[rows], k)[0]
    return _marked(index, take_rows(scores, index))


def _slabs(n_cols: int, k: int) -> int:
    """How many slabs _top_k_grouped cuts a row into, or 0 where sorting whole rows costs less."""
    for slabs in SLABS:
        if n_cols % slabs == 0 and n_cols // slabs >= 4 * (k + 1):
            return slabs
    return 0


def _keys(raw: NDArray[np.int32], cols: NDArray[np.integer], bits: int) -> NDArray[np.int32]:
    """Order-preserving int32 keys of float32 bit patterns `raw`, low `bits` replaced by their columns.

    Lower columns get larger low bits so that, among equal truncated values, they sort last = win.
    """
    keys = _key_bits(raw, bits)
    keys |= (np.int32((1 << bits) - 1) - cols).astype(np.int32, copy=False)
    return keys


def _key_bits(raw: NDArray[np.int32], bits: int) -> NDArray[np.int32]:
    """Order-preserving int32 keys of float32 bit patterns, the low `bits` cleared."""
    keys = np.right_shift(raw, 31)  # -1 for negative floats, 0 otherwise
    keys &= np.int32(0x7FFFFFFF)
    keys ^= raw  # negative floats: flip magnitude bits so that signed int order matches float order
    keys &= np.int32(-(1 << bits))
    return keys


# Untruncated keys of -inf and +inf: NaN keys lie beyond them.
_LOWEST, _HIGHEST = _keys(np.array([-np.inf, np.inf], dtype=np.float32).view(np.int32), np.zeros(2), 0)


def _top_k_grouped(
    scores: NDArray[np.float32], k: int, bits: int, slabs: int
) -> tuple[NDArray[np.int32], NDArray[np.bool_]]:
    """_top_k_by_keys on the columns of each row's k + 1 best groups only: the same answer, less sorting.

    The row is cut into `slabs` equal slabs; column c belongs to group c mod (slab width). Any column of a
    group whose maximum is not among the k + 1 largest group maxima has k + 1 larger columns above it, so
    only the k + 1 best groups (slabs × (k + 1) columns) are keyed and sorted. The groups are ranked by
    truncated keys of their maxima; rows where that ranking may be wrong at its edge (a tie, -0.0 against
    +0.0, a NaN) are sorted whole.
    """
    n_rows, n_cols = scores.shape
    width = n_cols // slabs
    group_max = np.maximum(scores[:, :width], scores[:, width : 2 * width])  # NaN propagates
    for slab in range(2, slabs):
        np.maximum(group_max, scores[:, slab * width : (slab + 1) * width], out=group_max)
    # Group keys are truncated like column keys, so groups apart here are apart for their columns too.
    groups = _keys(group_max.view(np.int32), np.arange(width), bits)
    groups.sort(axis=1)
    edge = groups[:, width - k - 2 : width - k] >> bits  # truncated (k + 2)-th and (k + 1)-th best
    lower, upper = edge[:, 0], edge[:, 1]
    whole = (lower == upper) | ((lower == -1) & (upper == 0))
    whole |= (groups[:, 0] >> bits < _LOWEST >> bits) | (groups[:, -1] >> bits > _HIGHEST >> bits)  # NaN
    low_mask = np.int32((1 << bits) - 1)
    # Column g + slab·width of group g: its key's low bits are low_mask - g - slab·width.
    low = (groups[:, width - k - 1 :] & low_mask)[:, None, :] - np.arange(0, n_cols, width, dtype=np.int32)[
        :, None
    ]
    flat = np.arange(low_mask, scores.size + low_mask, n_cols)[:, None, None] - low  # (rows, slabs, k + 1)
    raw = np.take(scores.view(np.int32).ravel(), flat).reshape(n_rows, -1)
    keys = _key_bits(raw, bits)
    keys |= low.reshape(n_rows, -1)
    index, unsure = _top_k_by_keys(keys, k, bits)
    rows = np.flatnonzero(whole)
    if rows.size:
        whole_keys = _keys(scores[rows].view(np.int32), np.arange(n_cols), bits)
        index[rows], unsure[rows] = _top_k_by_keys(whole_keys, k, bits)
    return index, unsure


def _marked(
    index: NDArray[np.int32], value: NDArray[np.float32]
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Reject NaN; slots holding -inf become -1."""
    if np.isnan(value).any():
        raise ValueError("router scores contain NaN")
    index[value == -np.inf] = -1
    return index, value


def _top_k_by_keys(keys: NDArray[np.int32], k: int, bits: int) -> tuple[NDArray[np.int32], NDArray[np.bool_]]:
    """Top-k from keys made by _keys (or padded with the lowest int32); sorts `keys` in place.

    Returns the columns and the rows whose answer may be wrong: two truncated keys tie, or -0.0 (truncated
    key -1) meets +0.0 (truncated key 0), which are equal but have different keys.
    """
    width = keys.shape[1]
    low_mask = np.int32((1 << bits) - 1)
    keys.sort(axis=1)
    best = keys[:, : width - k - 1 : -1]
    index = low_mask - (best & low_mask)
    # The k + 1 best truncated keys, ascending; compare neighbours.
    tail = keys[:, width - k - 1 :] >> bits
    lower, upper = tail[:, :-1], tail[:, 1:]
    return index, row_max((lower == upper) | ((lower == -1) & (upper == 0)))


def _top_k_exact(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Exact top-k in O(columns) per row: threshold at the k-th largest, fill ties by lowest column."""
    if np.isnan(scores).any():
        raise ValueError("router scores contain NaN")
    n_cols = scores.shape[1]
    threshold = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k, None]
    above = scores > threshold
    tied = scores == threshold
    keep = above | tied
    crowded = np.flatnonzero(keep.sum(axis=1) > k)  # rows with ties at the threshold: lowest columns win
    if crowded.size:
        room = k - above[crowded].sum(axis=1, keepdims=True)
        keep[crowded] = above[crowded] | (tied[crowded] & (np.cumsum(tied[crowded], axis=1) <= room))
    index = (np.flatnonzero(keep) % n_cols).reshape(-1, k).astype(np.int32)  # k per row, column order
    value = take_rows(scores, index)
    best_first = np.argsort(-value, axis=1, kind="stable")  # stable: equal scores stay in column order
    return np.take_along_axis(index, best_first, axis=1), np.take_along_axis(value, best_first, axis=1)
