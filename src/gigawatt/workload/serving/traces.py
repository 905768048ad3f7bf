"""Request arrivals: Poisson, bursty (gamma inter-arrivals) and replay of Azure LLM inference traces.

Azure format (github Azure/AzurePublicDataset, Patel et al., Splitwise, ISCA 2024): one row per request,
`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps like `2023-11-16 18:15:46.6805900`. Rows are
numbered from 1 after the header line in error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


class TraceError(ValueError):
    """A trace file that cannot be replayed; the message names the file, the row and the problem."""


class Arrivals(NamedTuple):
    arrival_s: np.ndarray  # float64, non-decreasing
    prompt_tokens: np.ndarray  # int64
    output_tokens: np.ndarray  # int64


def poisson_arrivals(
    n: int,
    rate_per_s: float,
    rng: np.random.Generator,
    prompt_tokens: int | np.ndarray,
    output_tokens: int | np.ndarray,
) -> Arrivals:
    """`n` requests with exponential inter-arrival times at `rate_per_s`; token counts as in `_lengths`."""
    return bursty_arrivals(n, rate_per_s, 1.0, rng, prompt_tokens, output_tokens)


def bursty_arrivals(
    n: int,
    rate_per_s: float,
    cv: float,
    rng: np.random.Generator,
    prompt_tokens: int | np.ndarray,
    output_tokens: int | np.ndarray,
) -> Arrivals:
    """Gamma inter-arrival times with mean 1/rate and coefficient of variation `cv` (cv = 1 is Poisson).

    Gamma(shape k, scale θ) has mean kθ and CV 1/√k, so k = 1/cv² and θ = cv²/rate.
    """
    if rate_per_s <= 0 or cv <= 0:
        raise ValueError(f"rate_per_s ({rate_per_s}) and cv ({cv}) must be positive")
    gaps = rng.gamma(shape=1.0 / cv**2, scale=cv**2 / rate_per_s, size=n)
    return Arrivals(np.cumsum(gaps), _lengths(prompt_tokens, n, rng), _lengths(output_tokens, n, rng))


def _lengths(spec: int | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A fixed length, or `n` draws with replacement from an array of observed lengths (e.g. a trace's)."""
    if np.ndim(spec) == 0:
        return np.full(n, int(spec), dtype=np.int64)
    return rng.choice(np.asarray(spec, dtype=np.int64), size=n, replace=True)


def read_azure_trace(path: str | Path, time_scale: float = 1.0, limit: int | None = None) -> Arrivals:
    """Replay an Azure trace: arrival seconds from the first row, times `time_scale` (0.5 = twice as fast)."""
    path = Path(path)
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    table = _read_strings(path)
    if limit is not None:
        table = table.slice(0, limit)
    if table.num_rows == 0:
        raise TraceError(f"{path}: no requests (the file has a header but no rows)")
    stamps = _timestamps_ns(path, table.column("TIMESTAMP"))
    backwards = np.flatnonzero(np.diff(stamps) < 0)
    if backwards.size:
        row = int(backwards[0]) + 2
        raise TraceError(
            f"{path}, row {row} (line {row + 1}): TIMESTAMP goes back in time (timestamps must be sorted)"
        )
    arrival_s = (stamps - stamps[0]).astype(np.float64) * 1e-9 * time_scale
    prompt = _tokens(path, table, "ContextTokens")
    output = _tokens(path, table, "GeneratedTokens")
    return Arrivals(arrival_s, prompt, output)


def _read_strings(path: Path) -> pa.Table:
    """All three columns as strings, so each bad value can be pinned to its row."""
    types = dict.fromkeys(AZURE_COLUMNS, pa.string())
    try:
        table = csv.read_csv(path, convert_options=csv.ConvertOptions(column_types=types))
    except FileNotFoundError as exc:
        raise TraceError(f"{path}: no such trace file") from exc
    except pa.ArrowInvalid as exc:
        raise TraceError(f"{path}: {exc}") from exc
    missing = [c for c in AZURE_COLUMNS if c not in table.column_names]
    if missing:
        raise TraceError(
            f"{path}: missing column(s) {', '.join(missing)}; the header has {', '.join(table.column_names)} "
            f"(Azure LLM trace format: {','.join(AZURE_COLUMNS)})"
        )
    return table.select(list(AZURE_COLUMNS))


def _first_bad_row(valid: pa.ChunkedArray) -> int:
    """1-based row of the first False (or null) in a boolean column."""
    return int(np.flatnonzero(~valid.fill_null(False).to_numpy(zero_copy_only=False))[0]) + 1


def _timestamps_ns(path: Path, column: pa.ChunkedArray) -> np.ndarray:
    try:
        return pc.cast(column, pa.timestamp("ns")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        valid = pc.match_substring_regex(column, r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,9})?$")
        row = _first_bad_row(valid)
        raise TraceError(
            f"{path}, row {row} (line {row + 1}): TIMESTAMP {column[row - 1].as_py()!r} is not a date-time "
            "like '2023-11-16 18:15:46.6805900'"
        ) from None


def _tokens(path: Path, table: pa.Table, name: str) -> np.ndarray:
    column = pc.utf8_trim_whitespace(table.column(name))
    valid = pc.match_substring_regex(column, r"^\d+$")
    if not pc.all(valid.fill_null(False)).as_py():
        row = _first_bad_row(valid)
        value = column[row - 1].as_py()
        negative = value is not None and pc.match_substring_regex(pa.array([value]), r"^-\d+$")[0].as_py()
        what = "is negative" if negative else "is not a whole number"
        raise TraceError(f"{path}, row {row} (line {row + 1}): {name} {value!r} {what}")
    return pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
