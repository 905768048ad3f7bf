"""Run a row-wise computation over a (tokens, …) batch in cache-sized chunks, optionally on threads.

Every router step that works token by token (scores, top-k, gates) gives the same result on a chunk of rows
as on the whole batch, so chunks may run in any order and on any thread: results do not depend on `workers`.
NumPy releases the GIL inside ufuncs and sorts, so two workers use two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

# 4096 rows × 256 float32 = 4 MiB: a chunk and its temporaries stay in the shared L3.
CHUNK_ROWS = 4096


@cache
def worker_pool(workers: int) -> ThreadPoolExecutor:
    # One pool per worker count for the life of the process: starting threads per call costs more than the
    # work on small batches.
    return ThreadPoolExecutor(workers, thread_name_prefix="gigawatt-moe")


def chunks(n_rows: int, rows: int = CHUNK_ROWS) -> list[slice]:
    return [slice(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)]


def for_chunks(n_rows: int, work: Callable[[slice], None], workers: int = 1, rows: int = CHUNK_ROWS) -> None:
    """Call work(rows) for each chunk of rows; on `workers` threads when there is more than one chunk."""
    parts = chunks(n_rows, rows)
    if workers > 1 and len(parts) > 1:
        for _ in worker_pool(workers).map(work, parts):  # re-raises the first error
            pass
    else:
        for part in parts:
            work(part)
