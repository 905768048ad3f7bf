"""Running a sweep's points: on Ray (local, or a cluster at --address) or on a local process pool.

Both engines call the same `run_task` in worker processes, which writes each point's results folder and
row itself; the driver only hands out the points not yet in the dataset and reports progress. Killing the
sweep at any moment loses at most the points being run, and the next run picks them up.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gigawatt.sweep.dataset import done_points, param_types
from gigawatt.sweep.folder import check_sweep_folder, prepare
from gigawatt.sweep.point import Task, run_task
from gigawatt.sweep.spec import Sweep

ENGINES = ("auto", "ray", "local")


class EngineError(Exception):
    """An engine that cannot start (Ray not installed, no cluster at the address)."""


@dataclass
class Outcome:
    folder: Path
    engine: str
    workers: int
    skipped: int = 0  # already in the dataset
    finished: list[dict[str, Any]] = field(default_factory=list)  # rows written by this run
    crashed: list[tuple[str, str]] = field(
        default_factory=list
    )  # (point, error): not recorded, rerun resumes


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


def choose_engine(engine: str, address: str | None) -> str:
    if engine == "auto":
        return "ray" if ray_available() or address else "local"
    if engine == "ray" and not ray_available():
        raise EngineError(
            "--engine ray: Ray is not installed (pip install 'gigawatt[ray]'), or use --engine local"
        )
    if engine == "local" and address:
        raise EngineError("--address is a Ray cluster's; it needs --engine ray")
    return engine


def tasks(sweep: Sweep, folder: Path, max_memory_bytes: float, max_time_s: float) -> list[Task]:
    params = tuple(param_types([p.values for p in sweep.points], [a.path for a in sweep.axes]))
    return [
        Task(
            str(folder),
            p.id,
            p.index,
            p.set,
            p.values,
            p.data,
            params,
            sweep.units,
            max_memory_bytes,
            max_time_s,
        )
        for p in sweep.points
    ]


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    *,
    engine: str = "auto",
    workers: int | None = None,
    address: str | None = None,
    max_memory_bytes: float,
    max_time_s: float,
    inputs: list[Path] | None = None,
    on_point: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> Outcome:
    """Run every point of `sweep` not yet in the dataset at `out_dir`; ResultsError for an unsafe folder,
    EngineError for an engine that cannot start."""
    engine = choose_engine(engine, address)
    folder = check_sweep_folder(out_dir, sweep.identity, inputs or [])
    prepare(folder, sweep.identity)
    done = done_points(folder)
    todo = [t for t in tasks(sweep, folder, max_memory_bytes, max_time_s) if t.point not in done]
    workers = max(1, workers or os.cpu_count() or 1)
    outcome = Outcome(folder, engine, workers, skipped=len(sweep.points) - len(todo))
    if not todo:
        return outcome
    run = _ray if engine == "ray" else _pool
    total = len(todo)
    for point, result in run(todo, workers, address):
        if isinstance(result, BaseException):
            outcome.crashed.append((point, f"{type(result).__name__}: {str(result)[:300]}"))
        else:
            outcome.finished.append(result)
            if on_point is not None:
                on_point(len(outcome.finished), total, result)
    return outcome


def _pool(todo: list[Task], workers: int, address: str | None) -> Iterator[tuple[str, Any]]:
    """A process pool of fresh interpreters (spawn: no fork of the driver's state or threads)."""
    with cf.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = {pool.submit(run_task, t): t.point for t in todo}
        try:
            for future in cf.as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as exc:  # a bug or an unwritable folder in one point: the others go on
                    yield futures[future], exc
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _ray(todo: list[Task], workers: int, address: str | None) -> Iterator[tuple[str, Any]]:
    import ray

    try:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, runtime_env=_local_env())
    except Exception as exc:  # ConnectionError and Ray's own errors: no cluster where told
        raise EngineError(
            f"Ray did not start{f' at {address}' if address else ''}: {str(exc)[:300]}"
        ) from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        pending = {remote.remote(t): t.point for t in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                point = pending.pop(ref)
                try:
                    yield point, ray.get(ref)
                except Exception as exc:
                    yield point, exc
    finally:
        ray.shutdown()


def _local_env() -> dict[str, Any] | None:
    """Ray's local workers import gigawatt as the driver does, from its PYTHONPATH where it has one."""
    path = os.environ.get("PYTHONPATH")
    if not path:
        return None
    return {
        "env_vars": {"PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in path.split(os.pathsep) if p)}
    }
