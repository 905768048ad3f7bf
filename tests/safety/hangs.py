"""A guard for tests of FIFOs: a reader that opens one blocks until a writer comes, in C code that no
Python signal interrupts. The guard comes as that writer after a while, so a regression fails the test
instead of hanging the suite."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def fifo_writer_after(fifo: Path, seconds: float = 10.0) -> Iterator[list[bool]]:
    """Yields a list that holds True once the guard had to open the FIFO to end a blocked read."""
    hung: list[bool] = []

    def unblock() -> None:
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading, nothing hangs
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            hung.append(True)

    timer = threading.Timer(seconds, unblock)
    timer.start()
    try:
        yield hung
    finally:
        timer.cancel()
