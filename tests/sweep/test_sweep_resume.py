"""Running sweeps: kill -9 and resume loses and duplicates nothing; the engines agree; the folder is safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import gigawatt
from gigawatt.cli import app
from gigawatt.results_folder import MARKER as RESULTS_MARKER
from gigawatt.results_folder import PLOTLY_FILE, foreign_entries
from gigawatt.sweep.dataset import read_dataset
from gigawatt.sweep.runner import ray_available, run_sweep
from gigawatt.sweep.spec import read_sweep

SRC = Path(gigawatt.__file__).resolve().parents[1]
AXES = {"power.rack_budget": ["6 kW", "12 kW"], "workload.arrivals.rate": [2, 6]}


def _command(sweep: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gigawatt.cli",
        "sweep",
        str(sweep),
        "--out",
        str(out),
        "--engine",
        "local",
        *extra,
    ]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }


def _rows(out: Path) -> list[Path]:
    return sorted((out / "points").glob("*.parquet"))


def test_a_sweep_killed_with_sigkill_resumes_losing_and_duplicating_nothing(write_sweep, tmp_path):
    path = write_sweep(axes=AXES)
    plan = [p.id for p in read_sweep(path).points]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _command(path, killed, "--workers", "1"),
        env=_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while not (killed / "points").is_dir() or not _rows(killed):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no point finished in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-point
        proc.wait()
    finished_before = {p.stem for p in _rows(killed)}
    assert 1 <= len(finished_before) < len(plan)

    again = subprocess.run(_command(path, killed), env=_env(), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert f"{len(finished_before)} already done" in again.stdout
    whole = tmp_path / "whole"
    once = subprocess.run(_command(path, whole), env=_env(), capture_output=True, text=True, timeout=900)
    assert once.returncode == 0, once.stderr

    resumed, uninterrupted = read_dataset(killed), read_dataset(whole)
    assert resumed.column("point").to_pylist() == plan  # every point once, in plan order
    assert resumed.equals(uninterrupted)
    # Points finished before the kill were not run again: their row files are the ones written then.
    assert finished_before <= {p.stem for p in _rows(killed)}
    # Nothing half-written is left: no temporary rows, no staging folders, every results folder complete.
    assert sorted(p.name for p in (killed / "points").iterdir()) == sorted(f"{i}.parquet" for i in plan)
    assert sorted(p.name for p in (killed / "runs").iterdir()) == sorted(plan)
    for point in plan:
        assert (killed / "runs" / point / RESULTS_MARKER).is_file()
        assert not foreign_entries(killed / "runs" / point)
        # One plotly.js for the whole sweep: each point's report points at the sweep's own.
        assert not (killed / "runs" / point / PLOTLY_FILE).exists()
        page = (killed / "runs" / point / "report.html").read_text()
        assert f'<script src="../../{PLOTLY_FILE}"' in page and len(page) < 1_000_000
    assert (killed / PLOTLY_FILE).stat().st_size > 1_000_000

    third = subprocess.run(_command(path, killed), env=_env(), capture_output=True, text=True, timeout=900)
    assert third.returncode == 0 and f"0 run (0 failed), {len(plan)} already done" in third.stdout
    assert read_dataset(killed).equals(uninterrupted)


@pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install 'gigawatt[ray]')")
def test_ray_and_the_local_pool_write_the_same_dataset(write_sweep, tmp_path):
    sweep = read_sweep(
        write_sweep(axes={"power.rack_budget": ["6 kW", "12 kW"], "workload.arrivals.rate": [6]})
    )
    limits = {"max_memory_bytes": 16e9, "max_time_s": 3600.0}
    local = run_sweep(sweep, tmp_path / "local", engine="local", workers=2, **limits)
    on_ray = run_sweep(sweep, tmp_path / "ray", engine="ray", workers=2, **limits)
    assert (local.engine, on_ray.engine) == ("local", "ray")
    assert not local.crashed and not on_ray.crashed
    assert read_dataset(tmp_path / "ray").equals(read_dataset(tmp_path / "local"))
    assert read_dataset(tmp_path / "local").num_rows == 2


def _invoke(sweep: Path, out: Path):
    return CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(out), "--engine", "local"])


def test_the_sweep_folder_refuses_what_gigawatt_did_not_write(write_sweep, tmp_path, monkeypatch):
    path = write_sweep(axes={"power.rack_budget": ["8 kW"]})
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    result = _invoke(path, user)
    assert result.exit_code == 2 and "gigawatt did not write it" in result.output
    assert (user / "notes.txt").read_text() == "keep me"

    result = _invoke(path, path.parent)  # the folder holding the sweep file and its base scenario
    assert result.exit_code == 2 and "an input of this sweep" in result.output

    monkeypatch.chdir(tmp_path)
    result = _invoke(path, tmp_path)
    assert result.exit_code == 2 and "the working folder" in result.output


def test_a_folder_of_another_sweep_or_with_added_files_is_refused(write_sweep, tmp_path):
    from gigawatt.results_folder import ResultsError
    from gigawatt.sweep.folder import check_sweep_folder, prepare

    first = read_sweep(write_sweep("first", axes={"power.rack_budget": ["8 kW"]}))
    other = read_sweep(write_sweep("other", axes={"power.rack_budget": ["9 kW"]}))
    out = tmp_path / "out"
    prepare(check_sweep_folder(out, first.identity), first.identity)
    assert check_sweep_folder(out, first.identity) == out.resolve()  # its own: resumes
    with pytest.raises(ResultsError, match="holds another sweep"):
        check_sweep_folder(out, other.identity)
    (out / "points" / "results.csv").write_text("mine")
    with pytest.raises(ResultsError, match=r"holds points/results.csv, which gigawatt did not write"):
        check_sweep_folder(out, first.identity)
    assert (out / "points" / "results.csv").read_text() == "mine"


def test_a_point_that_cannot_run_is_a_failed_row_not_a_crash(write_sweep, tmp_path):
    # A point over the memory limit is refused before it runs: the sweep finishes, the row says why.
    sweep = read_sweep(write_sweep(axes={"workload.arrivals.rate": [2]}))
    out = tmp_path / "out"
    outcome = run_sweep(sweep, out, engine="local", workers=1, max_memory_bytes=1e3, max_time_s=3600.0)
    assert not outcome.crashed and len(outcome.finished) == 1
    (row,) = read_dataset(out).to_pylist()
    assert row["status"] == "failed" and "memory" in row["failure"] and row["results"] is None
    assert row["throughput_tokens_per_s"] is None
    assert pq.read_schema(_rows(out)[0]).field("workload.arrivals.rate").metadata == {b"axis": b"true"}
