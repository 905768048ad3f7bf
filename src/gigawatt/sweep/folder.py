"""The sweep folder and proof of what gigawatt may write there.

DIR holds a marker naming the sweep's plan (its points' ids), the row files (points/), one results folder
per point (runs/<id>/, each with the results marker of `gigawatt.results_folder`) and report.html. A rerun
of the same sweep resumes there; gigawatt refuses a folder holding anything else — another sweep's points,
or a file it did not write — and never deletes a file it cannot prove its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gigawatt.report.html import plotly_js_bytes
from gigawatt.results_folder import PLOTLY_FILE, ResultsError, resolve_target
from gigawatt.sweep.dataset import POINTS, RUNS

MARKER = ".gigawatt-sweep.json"
FORMAT = 1
REPORT = "report.html"
_ID = r"[0-9a-f]{16}"
_TEMP = r"\.tmp-[0-9a-f]{8}"
_TOP_FILES = "|".join(re.escape(f) for f in (MARKER, REPORT, PLOTLY_FILE))
ALLOWED_TOP = re.compile(rf"^(?:{_TOP_FILES}|{POINTS}|{RUNS}|\..+{_TEMP})$")
ALLOWED_POINT = re.compile(rf"^(?:{_ID}\.parquet|\.{_ID}\.parquet{_TEMP})$")
ALLOWED_RUN = re.compile(rf"^(?:{_ID}|\.{_ID}\.(?:partial|old)-[0-9a-f]{{8}})$")  # Staging's names


def marker_content(identity: dict[str, Any]) -> dict[str, Any]:
    points = identity["points"]
    plan = {k: v for k, v in identity.items() if k != "points"}
    plan["points"] = len(points)
    plan["points_sha256"] = hashlib.sha256(json.dumps(points).encode()).hexdigest()
    return {"written_by": "gigawatt", "format": FORMAT, "kind": "sweep", "plan": plan}


def _read_marker(folder: Path) -> dict[str, Any] | None:
    path = folder / MARKER
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1 << 20:
            return None
        content = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(content, dict)
        or content.get("written_by") != "gigawatt"
        or content.get("kind") != "sweep"
    ):
        return None
    return content if content.get("format") == FORMAT else None


def foreign_entries(folder: Path) -> list[str]:
    """What in a sweep folder gigawatt did not write: names outside the layout, links, files for folders."""
    foreign = []
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if not ALLOWED_TOP.match(entry) or path.is_symlink():
            foreign.append(entry)
        elif entry in (POINTS, RUNS):
            if not path.is_dir():
                foreign.append(entry)
                continue
            pattern = ALLOWED_POINT if entry == POINTS else ALLOWED_RUN
            for inner in sorted(os.listdir(path)):
                p = path / inner
                wrong_kind = p.is_dir() if entry == POINTS else not p.is_dir()
                if not pattern.match(inner) or p.is_symlink() or wrong_kind:
                    foreign.append(f"{entry}/{inner}")
        elif path.is_dir():
            foreign.append(f"{entry}/")
    return foreign


def check_sweep_folder(out_dir: Path, identity: dict[str, Any], inputs: Iterable[Path] = ()) -> Path:
    """The resolved sweep folder, refused where writing there could destroy anything but this sweep's own
    earlier output: the working folder or a parent of it, a folder holding an input, something that is not
    a folder, a folder with files gigawatt did not write, or another sweep's folder."""
    target, is_dir = resolve_target(out_dir, inputs, "sweep")
    if not is_dir:
        return target
    try:
        entries = os.listdir(target)
        if not entries:
            return target
        marker = _read_marker(target)
        if marker is None:
            raise ResultsError(
                f"--out {target}: has no {MARKER} from an earlier sweep, so gigawatt did not write it; "
                "choose another folder or empty it yourself"
            )
        foreign = foreign_entries(target)
    except OSError as exc:
        raise ResultsError(f"--out {target}: cannot look inside ({exc.strerror})") from None
    if foreign:
        what = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ResultsError(
            f"--out {target}: holds {what}, which gigawatt did not write; choose another folder or empty it "
            "yourself"
        )
    if marker.get("plan") != marker_content(identity)["plan"]:
        earlier = marker.get("plan", {})
        raise ResultsError(
            f"--out {target}: holds another sweep ({earlier.get('sweep')!s}, "
            f"{earlier.get('points')!s} points) than this one; "
            "a sweep resumes only into its own folder: choose another folder"
        )
    return target


def prepare(target: Path, identity: dict[str, Any]) -> None:
    """Create the folder, its marker and the plotly.js every point's report shares, and clear temporary
    files a killed sweep left (its own names)."""
    (target / POINTS).mkdir(parents=True, exist_ok=True)
    (target / RUNS).mkdir(exist_ok=True)
    for folder in (target, target / POINTS):
        for entry in os.listdir(folder):
            if re.search(rf"{_TEMP}$", entry) and entry.startswith(".") and (folder / entry).is_file():
                (folder / entry).unlink()
    write_atomic(
        target / MARKER, (json.dumps(marker_content(identity), indent=2, sort_keys=True) + "\n").encode()
    )
    if not (target / PLOTLY_FILE).is_file():
        write_atomic(target / PLOTLY_FILE, plotly_js_bytes())


def write_atomic(path: Path, content: bytes) -> None:
    temp = path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}"
    try:
        with open(temp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
