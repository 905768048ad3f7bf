"""`gigawatt ingest`: files of either format -> one telemetry table in the twin's schema."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gigawatt.ingest import dcgm, nvidia_smi
from gigawatt.ingest.table import MAX_BYTES, IngestError, Samples, read_text, to_table
from gigawatt.safety import InputFileError, read_regular_file


@dataclass
class Ingested:
    table: pa.Table
    formats: dict[str, str]  # file -> format
    ignored: list[str]  # source fields with no twin column


def ingest(files: list[Path], query: list[str] | None = None, interval_s: float = 30.0) -> Ingested:
    samples, formats, ignored = Samples(), {}, set()
    scrapes = dcgm.Scrapes(interval_s)
    for path in files:
        text = read_text(path, "telemetry file")
        if dcgm.looks_like(text):
            scrapes.parse(path, text)
            formats[str(path)] = "dcgm-exporter"
        else:
            parsed = nvidia_smi.parse(path, text, query)
            samples.extend(parsed.samples)
            ignored.update(parsed.ignored)
            formats[str(path)] = "nvidia-smi csv"
    if scrapes.samples.time and samples.time:
        raise IngestError("mixing nvidia-smi logs and dcgm-exporter scrapes: ingest them separately")
    samples.extend(scrapes.samples)
    ignored.update(scrapes.ignored)
    return Ingested(to_table(samples), formats, sorted(ignored))


def write(table: pa.Table, out_dir: Path) -> Path:
    """out_dir/timeseries.parquet, written beside and renamed into place (never half a file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "timeseries.parquet"
    fd, tmp = tempfile.mkstemp(prefix=".timeseries.", suffix=".partial", dir=out_dir)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_telemetry(path: Path) -> pa.Table:
    """A telemetry Parquet file (ingested, or a run's timeseries.parquet), or a folder holding one."""
    if path.is_dir():
        path = path / "timeseries.parquet"
    try:
        data = read_regular_file(path, MAX_BYTES, "telemetry Parquet file")
    except InputFileError as exc:
        raise IngestError(str(exc)) from None
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(f"{path}: cannot read telemetry Parquet ({exc})") from None
    if "time_s" not in table.column_names:
        raise IngestError(f"{path}: no time_s column; is this a gigawatt timeseries.parquet?")
    return table
