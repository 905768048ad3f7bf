"""Keep glibc from returning every tick's temporary arrays to the kernel.

A tick allocates dozens of per-GPU temporaries; at 16k GPUs each is 128 KiB, exactly glibc's default
mmap threshold, so each is mmap'ed, page-faulted in and unmapped again (or trimmed from the heap top),
which costs more than the arithmetic. Raising the mmap and trim thresholds keeps freed blocks in the
heap for reuse: 2x faster loops measured at 16k GPUs. A no-op where glibc's mallopt is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@cache
def keep_freed_memory(threshold_bytes: int = 1 << 27) -> bool:
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold_bytes)) and bool(
        mallopt(_M_TRIM_THRESHOLD, threshold_bytes)
    )
