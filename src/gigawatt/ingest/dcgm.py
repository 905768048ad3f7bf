"""dcgm-exporter scrapes: the Prometheus text exposition format (version 0.0.4).

    # HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
    # TYPE DCGM_FI_DEV_POWER_USAGE gauge
    DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-...",Hostname="node-1"} 312.4 1700000000000

A file holds one scrape or many concatenated: a scrape ends where a series (name and labels) repeats.
A scrape's time is its samples' timestamp (milliseconds since the epoch) when they carry one, otherwise
its position times the scrape interval. DCGM's "blank" values (no reading) become missing values.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from gigawatt.ingest.schema import DCGM_FIELDS, DCGM_LABELS
from gigawatt.ingest.table import IngestError, Samples
from gigawatt.safety import excerpt
from gigawatt.telemetry import ENERGY

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
# dcgm_structs.h: DCGM_FP64_BLANK (every int64 blank is larger); DCGM_INT32_BLANK up to 0x7fffffff.
FP64_BLANK = 140737488355328.0
INT32_BLANKS = (0x7FFFFFF0, 0x7FFFFFFF)

ENTITY = ("Hostname", "gpu", "UUID")  # the labels that tell GPUs apart
Sample = tuple[str, dict[str, str], float, int | None]


def parse_line(line: str) -> Sample:
    """(name, labels, value, timestamp ms or None); ValueError(message, column) on a malformed line."""
    m = _NAME.match(line)
    if m is None:
        raise _Bad("expected a metric name (letters, digits, '_' or ':')", 0)
    name, pos = m.group(), m.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        pos = _labels(line, pos + 1, labels)
    rest = line[pos:].split()
    if not rest or len(rest) > 2 or (pos < len(line) and not line[pos].isspace()):
        raise _Bad("expected ' value' or ' value timestamp' after the name and labels", pos)
    try:
        value = float(rest[0])
    except ValueError:
        raise _Bad(f"{excerpt(rest[0])} is not a number (Prometheus values: 312.4, NaN, +Inf)", pos) from None
    stamp = None
    if len(rest) == 2:
        if not re.fullmatch(r"-?\d+", rest[1]):
            raise _Bad(f"{excerpt(rest[1])} is not a timestamp (integer milliseconds since the epoch)", pos)
        stamp = int(rest[1])
    return name, labels, value, stamp


class _Bad(ValueError):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


def _labels(line: str, pos: int, labels: dict[str, str]) -> int:
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return pos + 1
        m = _LABEL.match(line, pos)
        if m is None:
            raise _Bad("expected a label name or '}'", pos)
        key, pos = m.group(), m.end()
        if not line.startswith('="', pos):
            raise _Bad(f'expected =" after label {key}', pos)
        opening = pos + 1
        pos += 2
        chars: list[str] = []
        while True:
            if pos >= len(line):
                raise _Bad(f"label {key}: the value quoted here never ends", opening)
            c = line[pos]
            if c == '"':
                pos += 1
                break
            if c == "\\":
                nxt = line[pos + 1 : pos + 2]
                if nxt not in _ESCAPES:
                    raise _Bad(f'label {key}: unknown escape \\{nxt} (allowed: \\\\, \\", \\n)', pos)
                chars.append(_ESCAPES[nxt])
                pos += 2
                continue
            chars.append(c)
            pos += 1
        labels[key] = "".join(chars)
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos < len(line) and line[pos] != "}":
            raise _Bad("expected ',' or '}' after a label value", pos)


def looks_like(text: str) -> bool:
    """A scrape starts with a comment or a DCGM field; an nvidia-smi log with its header or a value."""
    return text.lstrip().startswith(("#", "DCGM_"))


def blank(name: str, value: float) -> bool:
    """No reading: NaN, or one of DCGM's blank sentinels."""
    if math.isnan(value) or abs(value) >= FP64_BLANK:
        return True
    return name != ENERGY and INT32_BLANKS[0] <= value <= INT32_BLANKS[1]


class Scrapes:
    """Samples gathered scrape by scrape over one or more files, in the order given."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self.samples = Samples()
        self.ignored: set[str] = set()
        self._index = 0
        self._timed: bool | None = None

    def parse(self, path: Path, text: str) -> None:
        """`text`: the file's contents (gigawatt.ingest.table.read_text)."""
        rows: dict[tuple[str, ...], dict[str, float | int]] = {}
        keys: dict[tuple[str, ...], dict[str, object]] = {}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        stamps: list[int] = []
        first_line = 0
        for lineno, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                name, labels, value, stamp = parse_line(stripped)
            except _Bad as exc:
                col = len(line) - len(line.lstrip()) + exc.column + 1
                raise IngestError(f"{path}:{lineno}: column {col}: {exc}") from None
            series = (name, tuple(sorted(labels.items())))
            if series in seen:  # the next scrape begins
                self._close(path, first_line, rows, keys, stamps)
                rows, keys, seen, stamps = {}, {}, set(), []
            if not seen:
                first_line = lineno
            seen.add(series)
            if stamp is not None:
                stamps.append(stamp)
            field = DCGM_FIELDS.get(name)
            if field is None:
                self.ignored.add(name)
                continue
            kept = _kept_labels(path, lineno, labels)
            key = tuple(str(kept.get(k, "")) for k in ENTITY)  # labels of one GPU may differ by field
            keys.setdefault(key, {}).update(kept)
            row = rows.setdefault(key, {})
            if not blank(name, value):
                row[field.column] = int(value) if field.kind == "mask" else value * field.scale
        if seen:
            self._close(path, first_line, rows, keys, stamps)

    def _close(
        self,
        path: Path,
        lineno: int,
        rows: dict[tuple[str, ...], dict[str, float | int]],
        keys: dict[tuple[str, ...], dict[str, object]],
        stamps: list[int],
    ) -> None:
        timed = bool(stamps)
        if self._timed is not None and timed != self._timed:
            raise IngestError(
                f"{path}:{lineno}: this scrape's samples {'have' if timed else 'have no'} timestamps but "
                "earlier ones did not (or did): give scrapes all with timestamps or all without"
            )
        self._timed = timed
        time = min(stamps) / 1e3 if timed else self._index * self.interval_s
        for key, row in rows.items():
            self.samples.add(time, keys[key], row)
        self._index += 1


def _kept_labels(path: Path, lineno: int, labels: dict[str, str]) -> dict[str, object]:
    kept: dict[str, object] = {}
    for src, dst in DCGM_LABELS.items():
        if src not in labels:
            continue
        value = labels[src]
        if dst == "gpu":
            if not value.isdigit():
                raise IngestError(
                    f'{path}:{lineno}: label gpu="{excerpt(value)}" is not a GPU index (0, 1, ...)'
                )
            kept[dst] = int(value)
        else:
            kept[dst] = value
    return kept
