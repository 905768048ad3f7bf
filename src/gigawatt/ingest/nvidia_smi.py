"""nvidia-smi --query-gpu=... --format=csv logs, parsed by header name.

A header cell is a query name and, for fields with one, its unit in brackets: "power.draw [W]". Values
carry the unit unless the log was written with `nounits` ("312.45 W" or "312.45"); "[N/A]", "[Not
Supported]" and other bracketed words mean no value. A log written with `noheader` needs its query list.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

from gigawatt.ingest.schema import NVIDIA_SMI_FIELDS, NVIDIA_SMI_LABELS, NVIDIA_SMI_TIME, Field
from gigawatt.ingest.table import IngestError, Samples
from gigawatt.safety import excerpt

_HEADER = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(?:\[([^\]]*)\])?\s*$")
_MISSING = frozenset({"N/A", "Not Supported", ""})
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")


class Parsed:
    """One file: its samples and the header fields that map to nothing in the twin."""

    def __init__(self, samples: Samples, ignored: list[str]):
        self.samples = samples
        self.ignored = ignored


def parse(path: Path, text: str, query: list[str] | None = None) -> Parsed:
    """`text`: the file's contents (gigawatt.ingest.table.read_text)."""
    header: list[tuple[str, str | None]] | None = None
    if query is not None:
        header = [(q.strip(), None) for q in query]
    samples, ignored = Samples(), []
    columns: list[tuple[int, str, Field | None]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        try:
            cells = next(csv.reader([line], skipinitialspace=True), [])
        except csv.Error as exc:
            raise IngestError(f"{path}:{lineno}: not a CSV row ({exc})") from None
        if all(not c.strip() for c in cells):
            continue
        if header is None or _is_header(cells):  # logs appended run after run repeat their header
            header = _parse_header(path, lineno, cells)
            columns, ignored = _columns(path, lineno, header)
            continue
        if not columns:  # a --query list: checked at the first row
            columns, ignored = _columns(path, lineno, header)
        if len(cells) != len(header):
            raise IngestError(
                f"{path}:{lineno}: {len(cells)} values for {len(header)} header columns "
                f"({', '.join(name for name, _ in header)}); each row has one value per column"
            )
        samples.add(*_row(path, lineno, cells, header, columns))
    if header is None:
        raise IngestError(f"{path}: empty; expected an nvidia-smi --query-gpu=... --format=csv log")
    return Parsed(samples, ignored)


def _is_header(cells: list[str]) -> bool:
    return any((m := _HEADER.match(c)) and _known(m.group(1)) for c in cells)


def _known(name: str) -> bool:
    return name in NVIDIA_SMI_FIELDS or name in NVIDIA_SMI_LABELS or name == NVIDIA_SMI_TIME


def _parse_header(path: Path, lineno: int, cells: list[str]) -> list[tuple[str, str | None]]:
    if not _is_header(cells):
        raise IngestError(
            f"{path}:{lineno}: no header line (first cell {excerpt(cells[0])}); log with "
            "--format=csv (not noheader), or give the --query-gpu list with --query"
        )
    header = []
    for col, cell in enumerate(cells, start=1):
        m = _HEADER.match(cell)
        if m is None:
            raise IngestError(
                f"{path}:{lineno}: column {col}: {excerpt(cell)} is not an nvidia-smi header cell "
                "(a query name such as power.draw, optionally followed by its unit in brackets: [W])"
            )
        header.append((m.group(1), m.group(2)))
    return header


def _columns(
    path: Path, lineno: int, header: list[tuple[str, str | None]]
) -> tuple[list[tuple[int, str, Field | None]], list[str]]:
    """(position, name, field) of every mapped column; names of the rest."""
    columns, ignored = [], []
    for i, (name, unit) in enumerate(header):
        field = NVIDIA_SMI_FIELDS.get(name)
        if field is not None:
            if unit is not None and unit != field.unit:
                expected = f"in [{field.unit}]" if field.unit else "without a unit"
                raise IngestError(
                    f"{path}:{lineno}: column {i + 1} ({name}): unit [{unit}]; "
                    f"gigawatt reads {name} {expected}"
                )
            columns.append((i, name, field))
        elif name in NVIDIA_SMI_LABELS or name == NVIDIA_SMI_TIME:
            columns.append((i, name, None))
        else:
            ignored.append(name)
    names = {name for _, name, _ in columns}
    if NVIDIA_SMI_TIME not in names:
        raise IngestError(f"{path}:{lineno}: no timestamp column; query timestamp with the other fields")
    if not any(f is not None for _, _, f in columns):
        known = ", ".join(sorted(NVIDIA_SMI_FIELDS)[:6])
        raise IngestError(f"{path}:{lineno}: no column gigawatt reads (such as {known}, ...)")
    return columns, ignored


def _row(
    path: Path,
    lineno: int,
    cells: list[str],
    header: list[tuple[str, str | None]],
    columns: list[tuple[int, str, Field | None]],
) -> tuple[float, dict[str, object], dict[str, float | int]]:
    labels: dict[str, object] = {}
    values: dict[str, float | int] = {}
    time = 0.0
    for i, name, field in columns:
        raw = cells[i].strip()
        where = f"{path}:{lineno}: column {i + 1} ({name})"
        if name == NVIDIA_SMI_TIME:
            time = parse_time(raw, where)
        elif field is None:
            if _missing(raw):
                continue
            if name == "index":
                if not raw.isdigit():
                    raise IngestError(f"{where}: {excerpt(raw)} is not a GPU index (0, 1, ...)")
                labels[NVIDIA_SMI_LABELS[name]] = int(raw)
            else:
                labels[NVIDIA_SMI_LABELS[name]] = raw
        else:
            value = _value(raw, field, where)
            if value is None:
                continue
            if field.kind == "float" or field.column not in values:
                values[field.column] = value
            else:  # reason columns and the mask OR together
                values[field.column] = int(values[field.column]) | int(value)
    return time, labels, values


def _missing(raw: str) -> bool:
    return raw in _MISSING or (raw.startswith("[") and raw.endswith("]"))


def _value(raw: str, field: Field, where: str) -> float | int | None:
    if _missing(raw):
        return None
    if field.kind == "mask":
        try:
            return int(raw, 16)
        except ValueError:
            raise IngestError(
                f"{where}: {excerpt(raw)} is not a reason bitmask (hex such as 0x0000000000000004)"
            ) from None
    if field.kind == "reason":
        if raw in ("Active", "Not Active"):
            return field.bit if raw == "Active" else 0
        raise IngestError(f"{where}: {excerpt(raw)} is neither 'Active' nor 'Not Active'")
    number = raw
    if field.unit and raw.endswith(field.unit):
        number = raw[: -len(field.unit)].rstrip()
    try:
        value = float(number)
    except ValueError:
        unit = f", optionally followed by ' {field.unit}'" if field.unit else ""
        raise IngestError(f"{where}: {excerpt(raw)} is not a number{unit}, nor [N/A]") from None
    return value * field.scale


def parse_time(raw: str, where: str) -> float:
    """Epoch seconds of an nvidia-smi timestamp (2024/03/07 00:20:37.071, the host's clock, taken as UTC)."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise IngestError(
            f"{where}: {excerpt(raw)} is not a timestamp (nvidia-smi writes 2024/03/07 00:20:37.071; "
            "ISO 8601 is read too)"
        ) from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
