"""Load recorded router logits or expert ids from .npy or Parquet.

Layouts understood:
* .npy: a 2-D float array (tokens × experts) of logits; a 2-D int array (tokens × K) of expert ids, or a
  1-D int array of top-1 ids.
* Parquet: one list column (one fixed-length list per token), or several numeric columns (one per expert
  for logits, one per slot for ids). Float values mean logits, integer values mean expert ids.
Expert ids may be -1 for an empty slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray


class TraceError(ValueError):
    """A trace file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RecordedTrace:
    """Exactly one of logits (tokens, experts) and expert_ids (tokens, K) is set."""

    logits: NDArray[np.float32] | None = None
    expert_ids: NDArray[np.int32] | None = None

    @property
    def n_tokens(self) -> int:
        data = self.logits if self.logits is not None else self.expert_ids
        assert data is not None
        return data.shape[0]


def load_trace(path: str | Path, *, n_experts: int | None = None) -> RecordedTrace:
    """Read a trace; n_experts, when given, is checked against the logits' width or the ids' range."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = _read_npy(path)
    elif suffix in (".parquet", ".pq"):
        array = _read_parquet(path)
    else:
        raise TraceError(f"{path}: unsupported file type {suffix!r}; use .npy or .parquet")
    return _as_trace(path, array, n_experts)


def _read_npy(path: Path) -> NDArray[np.generic]:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise TraceError(f"{path}: not a readable .npy array ({error})") from None


def _read_parquet(path: Path) -> NDArray[np.generic]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise TraceError(f"{path}: not a readable Parquet file ({error})") from None
    if table.num_columns == 0:
        raise TraceError(f"{path}: the table has no columns")
    if any(column.null_count for column in table.columns):
        raise TraceError(f"{path}: null values are not allowed")
    if any(_is_list(column.type) for column in table.columns):
        if table.num_columns != 1:
            raise TraceError(f"{path}: a list column must be the only column")
        column = table.column(0).combine_chunks()
        lengths = pc.list_value_length(column).to_numpy()
        if lengths.size and (lengths != lengths[0]).any():
            raise TraceError(f"{path}: ragged lists: every token needs the same number of values")
        values = pc.list_flatten(column)
        if values.null_count or _kind(values.type) is None:
            raise TraceError(f"{path}: list values must be non-null floats (logits) or integers (expert ids)")
        return values.to_numpy(zero_copy_only=False).reshape(
            len(column), int(lengths[0]) if lengths.size else 0
        )
    kinds = {_kind(column.type) for column in table.columns}
    if None in kinds or len(kinds) != 1:
        raise TraceError(f"{path}: columns must be all floats (logits) or all integers (expert ids)")
    return np.column_stack([column.to_numpy() for column in table.columns])


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def _kind(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_integer(arrow_type):
        return "int"
    return None


def _as_trace(path: Path, array: NDArray[np.generic], n_experts: int | None) -> RecordedTrace:
    if np.issubdtype(array.dtype, np.floating):
        if array.ndim != 2 or 0 in array.shape:
            raise TraceError(
                f"{path}: logits must be a non-empty 2-D (tokens, experts) array, got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise TraceError(f"{path}: logits contain NaN or infinity")
        if n_experts is not None and array.shape[1] != n_experts:
            raise TraceError(f"{path}: logits have {array.shape[1]} experts, expected {n_experts}")
        return RecordedTrace(logits=np.ascontiguousarray(array, dtype=np.float32))
    if np.issubdtype(array.dtype, np.integer):
        ids = array[:, None] if array.ndim == 1 else array
        if ids.ndim != 2 or 0 in ids.shape:
            raise TraceError(
                f"{path}: expert ids must be a non-empty (tokens,) or (tokens, K) array, got {array.shape}"
            )
        if (ids < -1).any():
            raise TraceError(f"{path}: expert ids must be >= 0 (or -1 for an empty slot)")
        if n_experts is not None and (ids >= n_experts).any():
            raise TraceError(f"{path}: expert ids must be below {n_experts}")
        return RecordedTrace(expert_ids=ids.astype(np.int32))
    raise TraceError(f"{path}: expected float logits or integer expert ids, got dtype {array.dtype}")
