"""Request arrivals: Poisson, bursty (gamma inter-arrivals) and replay of Azure LLM inference traces.

Azure format (github Azure/AzurePublicDataset, Patel et al., Splitwise, ISCA 2024): one row per request,
`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps like `2023-11-16 18:15:46.6805900`. Rows are
numbered from 1 after the header line in error messages.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

from gigawatt.safety import InputFileError, excerpt, open_regular_file

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
MAX_TRACE_BYTES = 4 << 30  # the Azure 2023 traces are about 1 MB; a week of 2024 traffic is under 2 GB
HEADER_MAX_BYTES = 4096
ROW_BYTES_GUESS = 64  # an Azure row is about 40 bytes
MAX_TOKENS = 100_000_000  # per request, prompt or output: beyond any model's context
# Years whose nanosecond timestamps fit in int64 (1677-09-21 to 2262-04-11), whole years only.
FIRST_YEAR, LAST_YEAR = 1678, 2261


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
    """Replay an Azure trace: arrival seconds from the first row, times `time_scale` (0.5 = twice as fast).

    Reads only the first `limit` rows when a limit is given; the file must be a regular file of at most
    MAX_TRACE_BYTES. Errors name the file and row, and quote the offending value only in short.
    """
    path = Path(path)
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    table = _read_strings(path, limit)
    if table.num_rows == 0:
        raise TraceError(f"{path}: no requests (the file has a header but no rows)")
    stamps = _timestamps_ns(path, table.column("TIMESTAMP"))
    backwards = np.flatnonzero(stamps[1:] < stamps[:-1])  # compared, not subtracted: no int64 overflow
    if backwards.size:
        row = int(backwards[0]) + 2
        raise TraceError(
            f"{path}, row {row} (line {row + 1}): TIMESTAMP goes back in time (timestamps must be sorted)"
        )
    # Whole seconds and nanoseconds apart: 1678 to 2261 is more nanoseconds than an int64 holds.
    seconds, nanos = np.divmod(stamps, 1_000_000_000)
    arrival_s = ((seconds - seconds[0]) + (nanos - nanos[0]) * 1e-9) * time_scale
    prompt = _tokens(path, table, "ContextTokens")
    output = _tokens(path, table, "GeneratedTokens")
    return Arrivals(arrival_s, prompt, output)


def _read_strings(path: Path, limit: int | None) -> pa.Table:
    """The first `limit` rows (all without one), the three columns as strings so that each bad value can
    be pinned to its row. Batches are read only until `limit` rows are in."""
    types = dict.fromkeys(AZURE_COLUMNS, pa.string())
    batches: list[pa.RecordBatch] = []
    rows = 0
    try:
        fd = open_regular_file(path, MAX_TRACE_BYTES, "trace")
    except InputFileError as exc:
        raise TraceError(f"{path}: no such trace file" if exc.errno == errno.ENOENT else str(exc)) from None
    with os.fdopen(fd, "rb") as f:
        header = f.readline(HEADER_MAX_BYTES).decode("utf-8", errors="replace")
        if not header.strip():
            raise TraceError(f"{path}: Empty CSV file (a trace starts with its header line)")
        _check_header(path, [name.strip().strip('"') for name in header.split(",")])
        f.seek(0)
        # Arrow parses whole blocks: with a limit, blocks about the size of the rows asked for.
        block = 1 << 20 if limit is None else min(max(limit * ROW_BYTES_GUESS, 1 << 16), 1 << 24)
        try:
            reader = csv.open_csv(
                f,
                read_options=csv.ReadOptions(use_threads=False, block_size=block),
                convert_options=csv.ConvertOptions(column_types=types),
            )
            while limit is None or rows < limit:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                batches.append(batch)
                rows += batch.num_rows
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError) as exc:
            raise TraceError(_csv_problem(path, exc)) from None
        except OSError as exc:
            raise TraceError(f"{path}: cannot read the trace ({exc.strerror or exc})") from None
    table = pa.Table.from_batches(batches, reader.schema).select(list(AZURE_COLUMNS))
    return table.slice(0, limit) if limit is not None else table


def _check_header(path: Path, names: list[str]) -> None:
    """The Azure columns, each once. The header is not quoted back: the path may name a file that is not a
    trace, whose first line is not for showing."""
    twice = sorted({n for n in names if names.count(n) > 1 and n in AZURE_COLUMNS})
    if twice:
        raise TraceError(f"{path}: the header names {', '.join(twice)} more than once")
    missing = [c for c in AZURE_COLUMNS if c not in names]
    if missing:
        raise TraceError(
            f"{path}: missing column(s) {', '.join(missing)} in the header line; an Azure LLM trace starts "
            f"with {','.join(AZURE_COLUMNS)}"
        )


def _csv_problem(path: Path, exc: Exception) -> str:
    """What went wrong, without Arrow's quote of the offending line (single-threaded reading numbers it)."""
    text = str(exc)
    columns = re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+)", text)
    if columns:
        line, expected, got = columns.groups()
        return f"{path}, line {line}: {got} comma-separated value(s) where the header has {expected}"
    if "Empty CSV file" in text:  # a header line and nothing after it, not even a newline
        return f"{path}: no requests (the file has a header but no rows)"
    if "UTF8" in text or isinstance(exc, UnicodeDecodeError):
        return f"{path}: not UTF-8 text, so not an Azure LLM trace"
    return f"{path}: cannot be read as a CSV trace ({excerpt(text.split(':')[0])})"


def _first_bad_row(valid: pa.ChunkedArray) -> int:
    """1-based row of the first False (or null) in a boolean column."""
    return int(np.flatnonzero(~valid.fill_null(False).to_numpy(zero_copy_only=False))[0]) + 1


def _first_failing_row(column: pa.ChunkedArray, convert: Callable[[pa.ChunkedArray], object]) -> int:
    """1-based row of the first value `convert` refuses, by bisection (the column as a whole fails)."""
    low, high = 0, len(column)  # the failure lies in column[low:high]
    while high - low > 1:
        mid = (low + high) // 2
        try:
            convert(column.slice(low, mid - low))
            low = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            high = mid
    return low + 1


def _timestamps_ns(path: Path, column: pa.ChunkedArray) -> np.ndarray:
    def to_ns(values: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.cast(values, pa.timestamp("ns"))

    try:
        return to_ns(column).cast(pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row = _first_failing_row(column, to_ns)
    value = column[row - 1].as_py()
    where = f"{path}, row {row} (line {row + 1}): TIMESTAMP {excerpt(value)}"
    if value is not None and re.match(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,9})?$", value):
        year = int(value[:4])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise TraceError(f"{where} is outside the years {FIRST_YEAR}-{LAST_YEAR}") from None
    raise TraceError(f"{where} is not a date-time like '2023-11-16 18:15:46.6805900'") from None


def _tokens(path: Path, table: pa.Table, name: str) -> np.ndarray:
    column = pc.utf8_trim_whitespace(table.column(name))
    valid = pc.and_(pc.match_substring_regex(column, r"^\d+$"), pc.less_equal(pc.utf8_length(column), 12))
    if pc.all(valid.fill_null(False)).as_py():
        tokens = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
        if tokens.max(initial=0) <= MAX_TOKENS:
            return tokens
        valid = pa.chunked_array([tokens <= MAX_TOKENS])
    row = _first_bad_row(valid)
    value = column[row - 1].as_py()
    if value is not None and re.match(r"^\d+$", value):
        what = f"is more than {MAX_TOKENS:,} tokens"
    elif value is not None and re.match(r"^-\d+$", value):
        what = "is negative"
    else:
        what = "is not a whole number"
    raise TraceError(f"{path}, row {row} (line {row + 1}): {name} {excerpt(value)} {what}")
