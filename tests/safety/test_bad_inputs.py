"""Every bad scenario is one clean error naming the file, the line, the field and what is allowed, with exit 2
and no traceback; quotes of the input stay short (issue 7)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import gigawatt.engine
from gigawatt.cli import app
from helpers import EXAMPLES, example_dict, with_changes

from .hangs import fifo_writer_after

EVENT = {"kind": "pump_failure", "at": "1 min", "duration": "1 min", "units": [0]}


def run(scenario: Path, out: Path):
    return CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False, width=10**9))
    return path


def assert_clean_error(result, path: Path, *expected: str, line: bool = True) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if line:
        assert re.search(rf"{re.escape(str(path))}:\d+: ", result.output), result.output
    for text in expected:
        assert text in result.output, result.output


@pytest.fixture
def no_simulation(monkeypatch):
    """Refusals must come before the engine allocates anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("the engine was built")

    monkeypatch.setattr(gigawatt.engine.Engine, "__init__", refuse)


@pytest.mark.parametrize(
    ("example", "changes", "field"),
    [
        ("balanced", {"duration": "1e400 s"}, "duration"),
        ("balanced", {"recording.interval": "1e400 s"}, "recording.interval"),
        ("balanced", {"cooling.events": [{**EVENT, "at": "1e400 s"}]}, "cooling.events.0.at"),
        ("balanced", {"cooling.events": [{**EVENT, "duration": "1e400 s"}]}, "cooling.events.0.duration"),
        ("balanced", {"cooling.events": [{**EVENT, "at": "1e9 h"}]}, "cooling.events.0.at"),
        ("moe-deepseek-v3", {"workload.demand_tokens_per_s": float("inf")}, "workload.demand_tokens_per_s"),
        ("balanced", {"duration": "1e300 s"}, "duration"),
        ("serving-llama70b-h100", {"workload.arrivals.rate": 1e308}, "requests"),
    ],
)
def test_quantities_must_be_finite_and_in_range(tmp_path, no_simulation, example, changes, field):
    path = write(tmp_path, with_changes(example_dict(example), **changes))
    assert_clean_error(run(path, tmp_path / "out"), path, field, line=field != "requests")
    assert not (tmp_path / "out").exists()


def test_deep_nesting_is_refused_with_its_line(tmp_path):
    text = (EXAMPLES / "balanced.yaml").read_text() + "extra: " + "[" * 500 + "]" * 500 + "\n"
    path = write(tmp_path, text)
    assert_clean_error(run(path, tmp_path / "out"), path, "nested more than")


def test_alias_bombs_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    path = write(tmp_path, bomb + (EXAMPLES / "balanced.yaml").read_text())
    assert_clean_error(run(path, tmp_path / "out"), path, "once aliases")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cooling.events": [{**EVENT, "units": []}]}, "cooling.events.0.units"),
        (
            {"power.supply_events": [{"kind": "feed_loss", "at": "1 min", "duration": "1 min", "racks": []}]},
            "power.supply_events.0.racks",
        ),
    ],
)
def test_index_lists_must_not_be_empty(tmp_path, changes, field):
    path = write(tmp_path, with_changes(example_dict("balanced"), **changes))
    assert_clean_error(run(path, tmp_path / "out"), path, field, "at least 1 item")


@pytest.mark.parametrize(
    ("seed", "expected"), [(-1, "bad.yaml:3: seed: "), (2**63, "bad.yaml:3: the integer")]
)
def test_seed_range(tmp_path, seed, expected):
    path = write(tmp_path, with_changes(example_dict("balanced"), seed=seed))
    assert_clean_error(run(path, tmp_path / "out"), path, expected)


def test_duplicate_keys_are_refused_at_the_second(tmp_path):
    text = (EXAMPLES / "balanced.yaml").read_text()
    text += "cluster:\n  gpu: H100-SXM\n  nodes: 8\n"
    path = write(tmp_path, text)
    line = len(text.splitlines()) - 2
    assert_clean_error(run(path, tmp_path / "out"), path, f"bad.yaml:{line}: ", "duplicate key 'cluster'")


def test_thermal_interface_factor_is_bounded(tmp_path):
    event = {"kind": "thermal_interface_degradation", "at": "1 min", "duration": "1 min", "gpus": [3]}
    path = write(
        tmp_path, with_changes(example_dict("balanced"), **{"cooling.events": [{**event, "factor": 1e300}]})
    )
    assert_clean_error(
        run(path, tmp_path / "out"), path, "cooling.events.0.factor", "less than or equal to 100"
    )


def test_a_fifo_scenario_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    with fifo_writer_after(fifo) as hung:
        result = run(fifo, tmp_path / "out")
    assert not hung, "reading the scenario blocked on the FIFO"
    assert_clean_error(result, fifo, "must be a regular file, not a FIFO", line=False)


def test_dev_zero_is_refused_without_reading_it(tmp_path):
    result = run(Path("/dev/zero"), tmp_path / "out")
    assert_clean_error(result, Path("/dev/zero"), "not a character device", line=False)


def test_an_oversized_scenario_is_refused(tmp_path):
    path = write(tmp_path, "# " + "x" * (2 << 20) + "\n")
    assert_clean_error(run(path, tmp_path / "out"), path, "more than the 1,048,576 allowed", line=False)


@pytest.mark.parametrize(
    "changes",
    [
        {"duration": "1" * 100_000 + " s"},
        {"cluster.gpu": "H" * 100_000},
        {"cooling.liquid.cold_plate": "p" * 100_000},
        {"name": "n" * 100_000},
    ],
)
def test_long_values_are_quoted_only_in_short(tmp_path, changes):
    path = write(tmp_path, with_changes(example_dict("balanced"), **changes))
    result = run(path, tmp_path / "out")
    assert_clean_error(result, path)
    assert len(result.output) < 1_000


def test_a_100000_digit_number_is_a_clean_short_error(tmp_path):
    text = (EXAMPLES / "balanced.yaml").read_text().replace("nodes: 4", "nodes: " + "4" * 100_000)
    path = write(tmp_path, text)
    result = run(path, tmp_path / "out")
    assert_clean_error(result, path, "out of range")
    assert len(result.output) < 1_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a list\n- not a mapping\n", "a scenario is a YAML mapping"),
        ("name: caf\xe9\n", "not UTF-8"),
        ("name: x\nduration: 2023-13-45\n", "cannot read '2023-13-45'"),
    ],
)
def test_malformed_files_name_their_line(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode("latin-1"))
    assert_clean_error(run(path, tmp_path / "out"), path, expected)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"cooling.liquid.cold_plate": "copper-pipe"}, "cooling.liquid.cold_plate: unknown cold plate"),
        ({"power.psu.curve": "psu-tin"}, "power.psu.curve: unknown power-conversion curve"),
        ({"workload.tensor_parallel": 1}, "workload: Llama-3.1-70B's weights in bf16"),
        ({"power.gpu_power_limit": "900 W"}, "power.gpu_power_limit: 900 W is outside"),
    ],
)
def test_errors_found_when_building_the_run_name_their_line(tmp_path, changes, expected):
    path = write(tmp_path, with_changes(example_dict("balanced"), **changes))
    assert_clean_error(run(path, tmp_path / "out"), path, expected)


def test_a_router_option_refused_only_in_use_is_a_clean_error(tmp_path):
    """Found by the soak: a two-stage router's shortlist longer than the model's experts is refused by the
    router when it first routes, inside the simulation."""
    data = with_changes(example_dict("moe-deepseek-v3"), duration="1 min")
    data["variants"] = [
        {
            "label": "long-shortlist",
            "set": {"workload.moe.router": "two_stage", "workload.moe.router_options": {"shortlist": 320}},
        }
    ]
    path = write(tmp_path, data)
    result = run(path, tmp_path / "out")
    assert_clean_error(
        result, path, "variants.0.set (long-shortlist): shortlist (320) exceeds the 256 experts"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
