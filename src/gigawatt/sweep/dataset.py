"""The sweep's dataset: one Parquet file of one row per finished point, in DIR/points/<id>.parquet.

Each row file is written to a temporary name and renamed into place, so a point is either wholly in the
dataset or not at all, whenever the sweep is killed; its name is the point's id, so no point is ever there
twice. The dataset is the folder of row files (`select * from 'DIR/points/*.parquet'` in DuckDB).
"""

from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gigawatt.summary import headline

POINTS = "points"
RUNS = "runs"

# (column, summary key (dotted), scale, type): headline metrics, null where a run's summary lacks them (a
# training run has no TTFT, a fluid serving run no percentiles).
METRICS: tuple[tuple[str, str, float, str], ...] = (
    ("throughput_tokens_per_s", "throughput_tokens_per_s", 1.0, "float64"),
    ("demand_tokens_per_s", "demand_tokens_per_s", 1.0, "float64"),
    ("served_fraction", "served_fraction", 1.0, "float64"),
    ("energy_j_per_token", "energy_j_per_token", 1.0, "float64"),
    ("facility_mw_mean", "facility_power_kw.mean", 1e-3, "float64"),
    ("facility_mw_peak", "facility_power_kw.max", 1e-3, "float64"),
    ("it_mw_mean", "it_power_kw.mean", 1e-3, "float64"),
    ("pue", "pue", 1.0, "float64"),
    ("max_gpu_temp_c", "max_gpu_temp_c", 1.0, "float64"),
    ("ttft_p50_s", "ttft_s.p50", 1.0, "float64"),
    ("ttft_p99_s", "ttft_s.p99", 1.0, "float64"),
    ("tpot_p99_s", "tpot_s.p99", 1.0, "float64"),
    ("goodput_requests_per_s", "goodput_requests_per_s", 1.0, "float64"),
    ("step_time_mean_s", "training.step_time_s.mean", 1.0, "float64"),
    ("mfu", "training.mfu", 1.0, "float64"),
    ("throttle_power", "throttle_fraction.power", 1.0, "float64"),
    ("throttle_thermal", "throttle_fraction.thermal", 1.0, "float64"),
    ("throttle_power_brake", "throttle_fraction.power_brake", 1.0, "float64"),
    ("down_fraction", "down_fraction", 1.0, "float64"),
    ("errors", "errors", 1.0, "int64"),
    ("facility_energy_kwh", "energy_kwh.facility", 1.0, "float64"),
    ("chain", "chain", 1.0, "string"),
)
LEADING = (("point", "string"), ("index", "int64"), ("status", "string"), ("failure", "string"))
TRAILING = (("set", "string"), ("results", "string"))
TYPES = {"float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_(), "string": pa.string()}


def param_types(points: list[dict[str, Any]], paths: list[str]) -> list[tuple[str, str]]:
    """The Parquet type of each axis column, from the values the points' scenarios hold: one type per
    column in every row file, so the files read as one table."""
    out = []
    for path in paths:
        values = [p.get(path) for p in points if p.get(path) is not None]
        if values and all(isinstance(v, bool) for v in values):
            kind = "bool"
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            kind = "int64"
        elif values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            kind = "float64"
        else:
            kind = "string"
        out.append((path, kind))
    return out


def schema(params: list[tuple[str, str]], units: dict[str, str | None]) -> pa.Schema:
    fields = [pa.field(name, TYPES[kind]) for name, kind in LEADING]
    for name, kind in params:
        meta = {b"axis": b"true"} | ({b"unit": units[name].encode()} if units.get(name) else {})
        fields.append(pa.field(name, TYPES[kind], metadata=meta))
    fields += [pa.field(name, TYPES[kind]) for name, _, _, kind in METRICS]
    fields += [pa.field(name, TYPES[kind]) for name, kind in TRAILING]
    return pa.schema(fields)


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if kind == "bool":
        return bool(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # a summary value of an unexpected kind reads as missing, not as an error
    if kind == "int64":
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def row(
    point_id: str,
    index: int,
    params: list[tuple[str, str]],
    values: dict[str, Any],
    written: dict[str, Any],
    summary: dict[str, Any] | None,
    failure: str | None,
    results: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "point": point_id,
        "index": index,
        "status": "ok" if failure is None else "failed",
        "failure": failure,
    }
    for name, kind in params:
        out[name] = _cell(values.get(name), kind)
    for name, key, scale, kind in METRICS:
        value = headline(summary, key) if summary is not None else None
        if kind == "float64" and isinstance(value, int | float) and not isinstance(value, bool):
            value = value * scale
        out[name] = _cell(value, kind)
    out["set"] = json.dumps(written, sort_keys=True, default=str, ensure_ascii=False)
    out["results"] = results
    return out


def write_row(folder: Path, data: dict[str, Any], sch: pa.Schema) -> Path:
    """Write one point's row as DIR/points/<id>.parquet: a temporary file, synced, then renamed over."""
    points = folder / POINTS
    points.mkdir(parents=True, exist_ok=True)
    final = points / f"{data['point']}.parquet"
    temp = points / f".{data['point']}.parquet.tmp-{secrets.token_hex(4)}"
    try:
        pq.write_table(pa.Table.from_pylist([data], schema=sch), temp)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final


def done_points(folder: Path) -> set[str]:
    """Ids of the points whose rows are in the dataset."""
    points = folder / POINTS
    if not points.is_dir():
        return set()
    return {
        p.name[: -len(".parquet")]
        for p in points.iterdir()
        if p.name.endswith(".parquet") and not p.name.startswith(".")
    }


def read_dataset(folder: Path) -> pa.Table:
    """Every finished point's row, in plan order."""
    files = sorted(p for p in (folder / POINTS).glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return pa.table({})
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.sort_by([("index", "ascending")])
