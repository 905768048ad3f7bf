"""Where results go, and proof of what gigawatt may replace there.

A results folder carries a marker file, written by gigawatt, that lists every file and folder of the
results. gigawatt replaces or deletes only a folder whose marker it can read and that holds nothing the
marker does not list: never a folder because it happens to hold a summary.json, never one where a user
added a file. Results are written into a hidden staging folder beside the target, prepared (and so checked
for writability, name length and free space) before the simulation starts; the finished staging folder
takes the target's place by one atomic exchange of the two names where the system offers it (Linux
renameat2 RENAME_EXCHANGE), else by two renames that a later run undoes if it finds only the first done.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MARKER = ".gigawatt-results.json"
PLOTLY_FILE = "plotly.min.js"  # the reports' shared plotly.js, at the root of a results tree
FORMAT = 1
MARKER_MAX_BYTES = 1 << 20


class ResultsError(Exception):
    """A results folder that cannot be written where asked; the message says why and what to do."""


def run_identity(name: str, seed: int, scenario_input: dict[str, Any]) -> dict[str, Any]:
    """What identifies a run in its marker: no time or place, so equal runs write equal folders."""
    canonical = json.dumps(scenario_input, sort_keys=True, default=str, ensure_ascii=False)
    return {"scenario": name, "seed": seed, "input_sha256": hashlib.sha256(canonical.encode()).hexdigest()}


def _marker_text(state: str, identity: dict[str, Any], files: list[str] | None = None) -> bytes:
    content: dict[str, Any] = {"written_by": "gigawatt", "format": FORMAT, "state": state, "run": identity}
    if files is not None:
        content["files"] = files
    return (json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's marker, if it is gigawatt's own (a regular file, of a format this version reads)."""
    marker = folder / MARKER
    try:
        info = marker.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MARKER_MAX_BYTES:
            return None
        content = json.loads(marker.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("written_by") != "gigawatt":
        return None
    if content.get("format") != FORMAT or content.get("state") not in ("writing", "complete"):
        return None
    return content


def _entries(folder: Path) -> list[str]:
    """Every file and folder below `folder`, as relative paths (folders end in '/'), symlinks included."""
    found = []
    for here, dirs, files in os.walk(folder):
        rel = Path(here).relative_to(folder)
        found += [f"{(rel / d).as_posix()}/" for d in dirs] + [(rel / f).as_posix() for f in files]
    return sorted(found)


def foreign_entries(folder: Path) -> list[str]:
    """What in `folder` gigawatt cannot prove it wrote: all of it without a complete marker, else anything
    its marker does not list (or that is a link, which gigawatt never writes)."""
    entries = _entries(folder)
    marker = _read_marker(folder)
    if marker is None or marker["state"] != "complete" or not isinstance(marker.get("files"), list):
        return entries
    listed = {f for f in marker["files"] if isinstance(f, str)} | {MARKER}
    return [e for e in entries if e not in listed or (folder / e.rstrip("/")).is_symlink()]


def _describe_foreign(folder: Path, foreign: list[str]) -> str:
    if _read_marker(folder) is None:
        return f"{folder} has no {MARKER} from an earlier run, so gigawatt did not write it"
    what = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    return f"{folder} holds {what}, which gigawatt did not write"



def resolve_target(out_dir: Path | str, inputs: Iterable[Path], what: str) -> tuple[Path, bool]:
    """The resolved `--out` folder and whether it exists as a folder, refusing the working folder, its
    parents, a folder holding an input of this `what` (run, sweep) and a path that is not a folder."""
    try:
        target = Path(out_dir).resolve()
        cwd = Path.cwd().resolve()
        input_paths = [Path(p).resolve() for p in inputs]
        exists, is_dir = target.exists(), target.is_dir()
    except (OSError, RuntimeError, ValueError) as exc:  # unreadable parents, symlink loops, NUL bytes
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ResultsError(f"--out {out_dir}: cannot use this path ({reason})") from None
    if target == target.parent or target == cwd or cwd.is_relative_to(target):
        raise ResultsError(
            f"--out {target}: is the working folder or one of its parents; give a folder of its own"
        )
    for path in input_paths:
        if path.is_relative_to(target):
            raise ResultsError(
                f"--out {target}: holds {path}, an input of this {what}; give a folder of its own"
            )
    if exists and not is_dir:
        raise ResultsError(f"--out {target}: exists and is not a folder")
    return target, is_dir

def check_target(out_dir: Path, inputs: Iterable[Path] = ()) -> Path:
    """The resolved results folder, refused where replacing it could destroy anything but earlier results:
    the working folder or a parent of it, a folder holding one of the run's `inputs`, something that is not
    a folder, or a folder holding anything gigawatt did not write."""
    target, is_dir = resolve_target(out_dir, inputs, "run")
    if is_dir:
        try:
            foreign = foreign_entries(target)
        except OSError as exc:
            raise ResultsError(f"--out {target}: cannot look inside ({exc.strerror})") from None
        if foreign:
            raise ResultsError(
                f"--out {_describe_foreign(target, foreign)}; choose another folder or empty it yourself"
            )
    return target


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two names (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _locked(path: Path) -> bool:
    """True while another run holds the lock on this staging folder's marker."""
    try:
        fd = os.open(path / MARKER, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class Staging:
    """A hidden folder beside the target that a run writes into, then commits in the target's place."""

    def __init__(self, target: Path, identity: dict[str, Any], needed_bytes: int = 0):
        self.target, self.identity = target, identity
        self.created: list[Path] = []  # parents this run made, removed again if it fails
        self.path: Path | None = None
        self._lock_fd: int | None = None
        try:
            self._preflight(needed_bytes)
            self._recover_stale()
        except OSError as exc:
            raise ResultsError(f"--out {target}: cannot prepare it ({exc.strerror or exc})") from None
        self._create()

    def _preflight(self, needed_bytes: int) -> None:
        """Refuse a target that could not be written before spending the simulation on it."""
        target = self.target
        base = target.parent
        missing = []
        while not base.exists():
            missing.append(base)
            base = base.parent
        if not base.is_dir():
            raise ResultsError(f"--out {target}: cannot create it: {base} is not a folder")
        name_max = os.pathconf(base, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
        staging_name = f".{target.name}.partial-{'x' * 8}"
        for name in [*(p.name for p in missing), target.name, staging_name]:
            if len(os.fsencode(name)) > name_max:
                raise ResultsError(
                    f"--out {target}: the name {name[:40]}… is longer than this file system allows "
                    f"({name_max} bytes, with gigawatt's staging suffix)"
                )
        info = os.statvfs(base)
        if info.f_flag & os.ST_RDONLY or not os.access(base, os.W_OK | os.X_OK):
            raise ResultsError(f"--out {target}: {base} is not writable")
        free = info.f_bavail * info.f_frsize
        if needed_bytes > free:
            raise ResultsError(
                f"--out {target}: the results need about {needed_bytes / 1e6:,.0f} MB, and {base} has only "
                f"{free / 1e6:,.0f} MB free"
            )

    def _recover_stale(self) -> None:
        """Staging and swap-out folders of this target left by a killed run: put earlier results back if
        the target is missing, and delete the rest, where gigawatt's marker proves they are its own."""
        target, parent = self.target, self.target.parent
        if not parent.is_dir():
            return
        for kind in ("old", "partial"):  # earlier results first: they may be the only copy
            for path in sorted(parent.glob(f".{target.name}.{kind}-*")):
                if path.is_symlink() or not path.is_dir() or _locked(path):
                    continue
                marker = _read_marker(path)
                if marker is None:
                    continue
                if kind == "old" and not target.exists() and not foreign_entries(path):
                    os.rename(path, target)
                elif kind == "partial" or not foreign_entries(path):
                    shutil.rmtree(path, ignore_errors=True)

    def _create(self) -> None:
        target = self.target
        try:
            for parent in reversed([p for p in target.parents if not p.exists()]):
                parent.mkdir()
                self.created.append(parent)
            path = target.parent / f".{target.name}.partial-{secrets.token_hex(4)}"
            path.mkdir()
            self.path = path
            fd = os.open(path / MARKER, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            self._lock_fd = fd
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, _marker_text("writing", self.identity))
        except OSError as exc:
            self.discard()
            raise ResultsError(f"--out {target}: cannot write there ({exc.strerror})") from None

    def commit(self) -> Path:
        """Put the finished results in the target's place; earlier results are never lost on the way."""
        assert self.path is not None and self._lock_fd is not None
        staging, target = self.path, self.target
        files = [e for e in _entries(staging) if e != MARKER]
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, _marker_text("complete", self.identity, files), 0)
        check_target(target)  # again: the user may have put something there while the run went on
        if target.exists():
            if _exchange(staging, target):
                shutil.rmtree(staging, ignore_errors=True)  # now the earlier results
            else:
                old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
                os.rename(target, old)
                try:
                    os.rename(staging, target)
                except OSError:
                    os.rename(old, target)
                    raise
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, target)
        self.path = None
        self._unlock()
        return target

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def discard(self) -> None:
        """Remove what this run wrote: the staging folder and any parents it created."""
        self._unlock()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        for parent in reversed(self.created):
            with contextlib.suppress(OSError):
                parent.rmdir()
        self.created = []
