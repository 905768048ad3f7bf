"""The results folder, written atomically: everything goes to a hidden temporary folder beside the
target, which is renamed into place only when complete, so an interrupted run leaves nothing that looks
like finished results."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from gigawatt.engine import RunResult
from gigawatt.report.html import Section, write_report


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
    folder: Path, result: RunResult, summary: dict[str, Any], extra_sections: Sequence[Section] = ()
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
    write_report(folder / "report.html", summary, result.timeseries, result.facility, events, sections)


class ResultsError(Exception):
    """A results folder that cannot be written where asked."""


def check_target(out_dir: Path) -> Path:
    """Refuse targets whose replacement would destroy something that is not an earlier results folder."""
    out_dir = Path(out_dir).resolve()
    if out_dir == Path.cwd().resolve() or out_dir == out_dir.parent:
        raise ResultsError(f"--out {out_dir}: give a folder of its own for the results")
    if out_dir.exists() and not out_dir.is_dir():
        raise ResultsError(f"--out {out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "summary.json").is_file():
        raise ResultsError(
            f"--out {out_dir}: exists and is not an earlier results folder (no summary.json); "
            "choose another folder or remove it"
        )
    return out_dir


def write_results(
    out_dir: Path, runs: list[tuple[str, RunResult, dict[str, Any]]], extra_sections: Sequence[Section] = ()
) -> Path:
    """Write the first run (the scenario itself) into `out_dir`, and any variants into out_dir/variants/."""
    out_dir = check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(f"--out {out_dir}: cannot create its parent folder ({exc.strerror})") from exc
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; results are an ordinary folder
    try:
        (_, base, base_summary), *variants = runs
        _write_run(tmp, base, base_summary, extra_sections)
        for label, result, summary in variants:
            _write_run(tmp / "variants" / label, result, summary)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            try:
                os.replace(out_dir, old / "previous")
                os.replace(tmp, out_dir)
            except OSError:
                if (old / "previous").exists() and not out_dir.exists():
                    os.replace(old / "previous", out_dir)  # put the earlier results back
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
