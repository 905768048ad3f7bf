"""The results folder's contents. They are written into a staging folder (`gigawatt.results_folder`) that
takes the target's place only when complete, so an interrupted run leaves nothing that looks like
finished results."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from gigawatt.engine import RunResult
from gigawatt.report.html import PLOTLY_FILE, Section, write_plotly_js, write_report
from gigawatt.results_folder import Staging


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    return value


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(_finite(summary), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _write_run(
    folder: Path,
    result: RunResult,
    summary: dict[str, Any],
    extra_sections: Sequence[Section] = (),
    plotly_src: str | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(summary_json(summary), encoding="utf-8")
    pq.write_table(result.timeseries, folder / "timeseries.parquet", compression="zstd")
    pq.write_table(result.facility, folder / "facility.parquet", compression="zstd")
    events = result.events.table()
    pq.write_table(events, folder / "events.parquet", compression="zstd")
    tables = result.workload.tables()
    for stem, table in tables.items():
        pq.write_table(table, folder / f"{stem}.parquet", compression="zstd")
    sections = [*extra_sections, *result.workload.report_sections(tables)]
    write_report(
        folder / "report.html", summary, result.timeseries, result.facility, events, sections, plotly_src
    )


def write_results(
    staging: Staging,
    runs: list[tuple[str, RunResult, dict[str, Any]]],
    extra_sections: Sequence[Section] = (),
    self_contained: bool = False,
    shared_plotly: str | None = None,
) -> Path:
    """Write the first run (the scenario itself) into the staging folder, and any variants into its
    variants/ folder; then put it in the target's place. On any failure the staging folder is removed.
    The reports share one plotly.js at the folder's root, or each inline it when `self_contained`, or use
    the one at `shared_plotly` (relative to the folder) that the caller keeps, e.g. a sweep's root."""
    assert staging.path is not None
    try:
        (_, base, base_summary), *variants = runs
        staging.path.mkdir(parents=True, exist_ok=True)
        plotly = None if self_contained else shared_plotly or PLOTLY_FILE
        if plotly == PLOTLY_FILE:
            write_plotly_js(staging.path)
        _write_run(staging.path, base, base_summary, extra_sections, plotly)
        for label, result, summary in variants:
            shared = None if plotly is None else f"../../{plotly}"
            _write_run(staging.path / "variants" / label, result, summary, plotly_src=shared)
        return staging.commit()
    except BaseException:
        staging.discard()
        raise
