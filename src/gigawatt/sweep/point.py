"""One point of a sweep: the run `gigawatt run` makes (limits, engine, summary, results folder), then its
row in the dataset. Runs in a worker process (the local pool's or Ray's), so it takes and returns plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAILURE_CHARS = 500


@dataclass(frozen=True)
class Task:
    folder: str  # the sweep folder (on a file system the workers share)
    point: str  # id
    index: int
    written: dict[str, Any]  # axis values as written
    values: dict[str, Any]  # axis values as the scenario holds them
    data: dict[str, Any]  # the point's scenario input
    params: tuple[tuple[str, str], ...]  # axis columns and their Parquet types
    units: dict[str, str | None]
    max_memory_bytes: float
    max_time_s: float


def simulate(sc: Any, target: Path, max_memory_bytes: float, max_time_s: float) -> dict[str, Any]:
    """Run one scenario (no variants) and write its results folder at `target` as `gigawatt run` does
    (`gigawatt.api.simulate`), its report using the sweep's one plotly.js two levels up (RUNS/<point>);
    returns its summary. Raises the scenario errors `gigawatt run` reports (LimitError, ScenarioError,
    WorkloadError, CatalogError, ValueError) and ResultsError."""
    from gigawatt.api import simulate as run_scenario
    from gigawatt.limits import Limits
    from gigawatt.results_folder import PLOTLY_FILE

    limits = Limits(max_memory_bytes, max_time_s)
    shared = f"../../{PLOTLY_FILE}"
    return run_scenario(sc, out=target, limits=limits, inputs=[], shared_plotly=shared).summary


def run_task(task: Task) -> dict[str, Any]:
    """Run a point and write its row; a scenario that cannot run (too big, a model that does not fit) is a
    finished point with status "failed" and the reason, so a rerun does not try it again."""
    from gigawatt.catalog import CatalogError
    from gigawatt.limits import LimitError
    from gigawatt.scenario import Scenario, ScenarioError
    from gigawatt.sweep.dataset import RUNS, row, schema, write_row
    from gigawatt.workload.serving.steady import WorkloadError

    folder = Path(task.folder)
    results: str | None = f"{RUNS}/{task.point}"
    summary, failure = None, None
    try:
        sc = Scenario.model_validate(task.data)
        summary = simulate(sc, folder / RUNS / task.point, task.max_memory_bytes, task.max_time_s)
    except (LimitError, ScenarioError, WorkloadError, CatalogError, ValueError) as exc:
        failure, results = str(exc)[:FAILURE_CHARS], None
    data = row(
        task.point, task.index, list(task.params), task.values, task.written, summary, failure, results
    )
    write_row(folder, data, schema(list(task.params), task.units))
    return data
