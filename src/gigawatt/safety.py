"""Input safety shared by every reader: bounded reads of regular files, short excerpts of what a user wrote,
and names that become single folder names.

A scenario or trace path may point anywhere: at a FIFO (an open for reading blocks until a writer comes),
at /dev/zero (never ends), at a huge file or at a file that is not meant to be shown. Readers go through
`read_regular_file`, and error messages quote input only through `excerpt`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

EXCERPT_CHARS = 40
NAME_MAX_CHARS = 100  # leaves room for ".<name>.partial-XXXXXXXX" within a 255-byte file name


class InputFileError(ValueError):
    """A path that cannot be read as an input file; the message names the path and the reason."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """`repr(value)`, cut to about `limit` characters: enough to recognise, never a whole file or number."""
    if isinstance(value, int) and value.bit_length() > 4 * limit:  # str() of a huge int is slow or refused
        return f"a number of about {value.bit_length() * 0.30103:,.0f} digits"
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular_file(path: Path, max_bytes: int, what: str) -> int:
    """A read-only descriptor of `path` once it is known to be a regular file of at most `max_bytes`.

    O_NONBLOCK keeps a FIFO swapped in after the check from blocking the open; fstat re-checks the file
    actually opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the {what} ({exc.strerror})", exc.errno) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{path}: the {what} must be a regular file, not {file_kind(info.st_mode)}")
        if info.st_size > max_bytes:
            raise InputFileError(
                f"{path}: the {what} is {info.st_size:,} bytes, more than the {max_bytes:,} allowed"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (one that grows past it while read is refused)."""
    fd = open_regular_file(path, max_bytes, what)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputFileError(f"{path}: the {what} is more than the {max_bytes:,} bytes allowed")
    return data


def check_folder_name(name: str) -> str:
    """A name used as one folder name: letters, digits, '_', '.', '-', starting with a letter or digit.

    That excludes '.', '..', hidden names (gigawatt's own staging folders are hidden), separators and
    control characters; the length limit keeps the name and its staging folders within NAME_MAX.
    """
    if not isinstance(name, str):
        raise ValueError("must be a name (text)")
    allowed = name.isascii() and all(c.isalnum() or c in "_.-" for c in name)
    if not name or not allowed or not name[0].isalnum() or len(name) > NAME_MAX_CHARS:
        raise ValueError(
            f"{excerpt(name)} is not a folder name: use 1 to {NAME_MAX_CHARS} letters, digits, '_', '.' "
            "or '-', starting with a letter or digit"
        )
    return name
