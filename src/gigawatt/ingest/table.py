"""Samples from any reader -> one table in the twin's telemetry schema (gigawatt.telemetry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from gigawatt.ingest.schema import INTEGER_COLUMNS, STRING_LABELS
from gigawatt.safety import InputFileError, read_regular_file
from gigawatt.telemetry import ENERGY

MAX_BYTES = 512 * 2**20  # one log file; a day of 1 s nvidia-smi rows for 8 GPUs is ~100 MB


class IngestError(ValueError):
    """Input that cannot be read as telemetry; the message names file, line, column and what is allowed."""


def read_text(path: Path, what: str) -> str:
    try:
        data = read_regular_file(path, MAX_BYTES, what)
    except InputFileError as exc:
        raise IngestError(str(exc)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IngestError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); is this a {what}?") from None


@dataclass
class Samples:
    """Rows of one GPU at one time: epoch seconds (or scrape time), labels and metric values."""

    time: list[float] = field(default_factory=list)
    labels: list[dict[str, object]] = field(default_factory=list)
    values: list[dict[str, float | int]] = field(default_factory=list)

    _shared: dict[tuple, dict[str, object]] = field(default_factory=dict)

    def add(self, time: float, labels: dict[str, object], values: dict[str, float | int]) -> None:
        """Rows of one GPU share one labels dict: a day of 1 s rows holds one per GPU, not one per row."""
        key = tuple(sorted(labels.items()))
        self.time.append(time)
        self.labels.append(self._shared.setdefault(key, labels))
        self.values.append(values)

    def extend(self, other: Samples) -> None:
        self.time += other.time
        self.labels += other.labels
        self.values += other.values


def to_table(samples: Samples) -> pa.Table:
    """The twin's columns: time_s from the first sample, metrics, then labels; sorted by time and GPU.

    Energy counters count from driver load; they are made relative to each GPU's first reading, as the
    twin's count from the start of the run.
    """
    if not samples.time:
        raise IngestError("no samples: the files hold no rows of GPU metrics")
    t = np.asarray(samples.time, dtype=float)
    metrics = sorted({k for v in samples.values for k in v})
    labels = [k for k in ("gpu", *STRING_LABELS) if any(k in lab for lab in samples.labels)]
    key = [_entity(lab) for lab in samples.labels]
    order = sorted(range(len(t)), key=lambda i: (t[i], key[i]))
    t = t[order]
    columns: dict[str, pa.Array] = {"time_s": pa.array(t - t[0])}
    for name in metrics:
        raw = [samples.values[i].get(name) for i in order]
        if name in INTEGER_COLUMNS:
            columns[name] = pa.array([None if v is None else int(v) for v in raw], pa.int64())
            continue
        values = np.array([np.nan if v is None else float(v) for v in raw])
        if name == ENERGY:
            values = _from_first([key[i] for i in order], values)
        columns[name] = pa.array(values)
    for name in labels:
        raw = [samples.labels[i].get(name) for i in order]
        if name == "gpu":
            columns[name] = pa.array([None if v is None else int(v) for v in raw], pa.int64())
        else:
            columns[name] = pa.array(
                [None if v is None else str(v) for v in raw], pa.string()
            ).dictionary_encode()
    return pa.table(columns)


def _entity(labels: dict[str, object]) -> tuple[str, int, str]:
    gpu = labels.get("gpu")
    return (str(labels.get("Hostname", "")), -1 if gpu is None else int(gpu), str(labels.get("UUID", "")))


def _from_first(keys: list[tuple[str, int, str]], values: np.ndarray) -> np.ndarray:
    first: dict[tuple[str, int, str], float] = {}
    out = values.copy()
    for i, k in enumerate(keys):
        if np.isnan(values[i]):
            continue
        out[i] = values[i] - first.setdefault(k, values[i])
    return out
