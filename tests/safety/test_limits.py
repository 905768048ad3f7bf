"""Runs too big for the machine are refused from the scenario's sizes, before anything is allocated, with the
estimate and the setting to change (issue 7, limits before allocation)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import gigawatt.engine
from gigawatt.cli import app
from helpers import example_dict, scenario, with_changes

RACK_LEVEL = {"recording.level": "rack", "recording.max_rows": 10**15}


def run(tmp_path: Path, data: dict, *flags: str):
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), *flags])


@pytest.fixture
def no_engine(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the engine was built")

    monkeypatch.setattr(gigawatt.engine.Engine, "__init__", refuse)


@pytest.mark.parametrize(
    ("example", "changes"),
    [
        ("balanced", {"cluster.nodes": 4_000_000, **RACK_LEVEL}),
        ("balanced", {"cluster.nodes": 10**12, **RACK_LEVEL}),
        ("serving-llama70b-h100", {"workload.arrivals.rate": 1e7}),
    ],
)
def test_runs_too_big_for_memory_are_refused_before_allocating(tmp_path, no_engine, example, changes):
    result = run(tmp_path, with_changes(example_dict(example), **changes))
    assert result.exit_code == 2, result.output
    assert "of memory" in result.output and "raise --max-memory" in result.output
    assert not (tmp_path / "out").exists()


def test_runs_too_long_are_refused_before_allocating(tmp_path, no_engine):
    data = with_changes(example_dict("balanced"), duration="3000 d", **{"recording.interval": "1 h"})
    result = run(tmp_path, data)
    assert result.exit_code == 2, result.output
    assert "to simulate" in result.output and "raise --max-time" in result.output


def test_limits_can_be_lowered_and_raised(tmp_path):
    data = with_changes(example_dict("balanced"), duration="1 min")
    low = run(tmp_path, data, "--max-memory", "50 kB")
    assert low.exit_code == 2 and "more than the limit of 50.0 kB" in low.output
    assert run(tmp_path, data, "--max-memory", "2 GB", "--max-time", "10 min").exit_code == 0
    bad = run(tmp_path, data, "--max-time", "soon")
    assert bad.exit_code == 2 and "--max-time" in bad.output


def test_variants_count_towards_the_limits():
    from gigawatt.limits import LimitError, Limits, check

    sc = scenario(duration="1 min")
    one = check([("base", sc)], Limits())
    three = check([("base", sc), ("a", sc), ("b", sc)], Limits())
    assert three.memory_bytes == pytest.approx(3 * one.memory_bytes)
    with pytest.raises(LimitError, match="and its 2 variant"):
        check([("base", sc), ("a", sc), ("b", sc)], Limits(memory_bytes=2.5 * one.memory_bytes))


def test_estimate_grows_with_what_the_run_holds():
    from gigawatt.limits import estimate

    small = estimate(scenario(duration="10 min"))
    assert small.gpu_ticks == 32 * 600 and small.rows == 32 * 60 and small.requests == 0
    assert estimate(scenario(duration="20 min")).memory_bytes > small.memory_bytes
    serving = estimate(scenario("serving-llama70b-h100"))
    assert serving.requests == pytest.approx(3 * 600 * 1.3 + 20)
