"""Bad scenario files: a short message naming the file, the line, the field and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.scenario import ScenarioError, load
from helpers import EXAMPLES, example_dict, with_changes


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


BAD = [
    # (changes to balanced.yaml, expected field in message, expected hint)
    ({"cluster.gpu": "H900"}, "cluster.gpu", "unknown GPU 'H900'"),
    ({"cluster.nodes": -4}, "cluster.nodes", "greater than 0"),
    ({"power.rack_budget": "45"}, "power.rack_budget", "no unit"),
    ({"power.rack_budget": "45 kg"}, "power.rack_budget", "not a power unit"),
    ({"power.host_power_per_node": "-2 kW"}, "power.host_power_per_node", "must not be negative"),
    ({"cooling.liquid.cdu.capacity": "-60 kW"}, "cooling.liquid.cdu.capacity", "more than 0"),
    ({"tick": "2 h"}, "tick", "between 0.1 s and 60 s"),
    ({"duration": "0.5 s", "tick": "1 s"}, "(top level)", "longer than duration"),
    ({"workload.model": "GPT-9"}, "workload.model", "unknown model 'GPT-9'"),
    ({"workload.precision": "int3"}, "workload.precision", "'bf16' or 'fp8'"),
    ({"workload.demand": 0}, "workload.demand", "greater than 0"),
    ({"cooling.kind": "immersion"}, "cooling.kind", "'liquid' or 'air'"),
    ({"workload.kind": "inference"}, "workload", "one of 'steady_serving', 'serving', 'training'"),
    ({"cooling.liquid.facility_supply": "303 K"}, "cooling.liquid.facility_supply", "not a temperature unit"),
    ({"cooling.liquid.cold_plate_flow": "0 L/min"}, "cooling.liquid.cold_plate_flow", "more than 0 L/min"),
    ({"recording.interval": "15 s", "tick": "10 s"}, "(top level)", "whole number of ticks"),
    ({"cluster.nodes": 6}, "cluster", "multiple of nodes_per_rack"),
    ({"power.capping.lower": 0.99}, "power", "lower must be below"),
    (
        {"cooling.events": [{"kind": "pump_failure", "at": "1 min", "duration": "1 min", "units": [3]}]},
        "(top level)",
        "unit indices must be in 0..0",
    ),
    (
        {"power.supply_events": [{"kind": "sag", "at": "1 min", "duration": "0 s", "depth": 0.5}]},
        "power.supply_events.0.duration",
        "longer than 0 s",
    ),
    # Times carry their floor in their type: a negative start, length or delay was once run silently (an
    # event "for -30 min" did nothing; a negative GPU shutdown brought GPUs back at once).
    (
        {"cooling.events": [{"kind": "pump_failure", "at": "-5 min", "duration": "1 min", "units": [0]}]},
        "cooling.events.0.at",
        "must not be negative",
    ),
    (
        {"cooling.events": [{"kind": "pump_failure", "at": "1 min", "duration": "-30 min", "units": [0]}]},
        "cooling.events.0.duration",
        "longer than 0 s",
    ),
    ({"recovery": {"gpu_shutdown": "-10 min"}}, "recovery.gpu_shutdown", "must not be negative"),
    ({"power.capping.trip_after": "-1 s"}, "power.capping.trip_after", "must not be negative"),
    ({"duration": "-1 h"}, "duration", "longer than 0 s"),
]


@pytest.mark.parametrize(("changes", "field", "hint"), BAD)
def test_bad_values_name_file_field_and_allowed(tmp_path, changes, field, hint):
    path = write(tmp_path, with_changes(example_dict("balanced"), **changes))
    with pytest.raises(ScenarioError) as exc:
        load(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:"), msg
    assert f": {field}:" in msg, msg
    assert hint in msg, msg


def test_unknown_key_names_its_line(tmp_path):
    text = (
        (EXAMPLES / "balanced.yaml")
        .read_text()
        .replace("  gpus_per_node: 8\n", "  gpus_per_node: 8\n  gpu_per_rack: 3\n")
    )
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load(path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "gpu_per_rack" in s)
    assert f"{path}:{line}: cluster.gpu_per_rack: unknown key" in str(exc.value)


def test_missing_field_is_named(tmp_path):
    data = example_dict("balanced")
    del data["workload"]["batch_size"]
    with pytest.raises(ScenarioError, match=r"workload\.batch_size: missing required field"):
        load(write(tmp_path, data))


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("name: x\n  bad: [indent", "not valid YAML"),
        ("- just\n- a list\n", "a scenario is a YAML mapping"),
        ("", "a scenario is a YAML mapping"),
    ],
)
def test_not_a_scenario(tmp_path, text, hint):
    with pytest.raises(ScenarioError, match=re.escape(hint)):
        load(write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ScenarioError, match="cannot read"):
        load("/nonexistent/scenario.yaml")


@pytest.mark.parametrize(
    "changes",
    [
        {"cluster.gpu": "H900"},
        {"workload.batch_size": 100000},
        {"cooling.liquid.cold_plate_flow": "200 L/min"},
    ],
)
def test_cli_exits_2_without_traceback_or_results(tmp_path, changes):
    path = write(tmp_path, with_changes(example_dict("balanced"), **changes))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert str(path) in result.output
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_model_that_does_not_fit_says_what_would(tmp_path):
    path = write(tmp_path, with_changes(example_dict("balanced"), **{"workload.tensor_parallel": 1}))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    # 141 GB of bf16 weights on one 80 GB GPU: the fix is more GPUs per replica, not a smaller batch.
    assert "weights in bf16 (141.1 GB per GPU at tensor_parallel 1) leave no room for KV" in result.output
    assert result.output.rstrip().endswith("raise tensor_parallel to 4")


def test_every_example_loads():
    for path in EXAMPLES.glob("*.yaml"):
        if "path:" in path.read_text() and not (EXAMPLES / "../../shared/data/traces").resolve().exists():
            continue  # a trace replay needs the measured traces beside the repository
        assert load(path).name == path.stem


def test_schema_lists_sections():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert {"cluster", "power", "cooling", "workload"} <= set(
        __import__("json").loads(result.output)["properties"]
    )


def test_a_billion_row_timeseries_is_refused_unless_asked(tmp_path):
    data = with_changes(example_dict("balanced"), **{"cluster.nodes": 2048, "duration": "24 h"})
    with pytest.raises(ScenarioError, match=r"recording\.max_rows"):
        load(write(tmp_path, data))
    data = with_changes(data, **{"recording.level": "rack", "recording.interval": "60 s"})
    assert load(write(tmp_path, data)).cluster.gpus == 16384
