"""The Python API (`gigawatt.api`) is what `gigawatt run` uses: same summary, same errors, same folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version

import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

import gigawatt
from gigawatt.api import load_scenario, simulate
from gigawatt.cli import app
from gigawatt.results import summary_json
from gigawatt.results_folder import ResultsError
from gigawatt.scenario import ScenarioError
from helpers import example_dict, with_changes

# Three minutes of balanced.yaml: a run of a few seconds.
SHORT = with_changes(example_dict("balanced"), duration="3 min")
LONG_LABEL = "a-variant-label-much-longer-than-any-column-a-terminal-of-eighty-columns-could-show"


def _write(tmp_path, data, name="scenario.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_a_dict_a_file_and_the_cli_give_the_same_summary(tmp_path):
    path = _write(tmp_path, SHORT)
    from_dict = simulate(load_scenario(SHORT))
    from_file = simulate(load_scenario(path))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    cli_summary = (tmp_path / "cli" / "summary.json").read_text()
    assert summary_json(from_dict.summary) == summary_json(from_file.summary) == cli_summary
    assert from_dict.summary["chain"] in result.output


def test_the_result_holds_the_tables_and_writes_the_folder_the_cli_writes(tmp_path):
    path = _write(tmp_path, SHORT)
    res = simulate(load_scenario(path))
    assert isinstance(res.timeseries, pa.Table) and res.timeseries.num_rows > 0
    assert isinstance(res.facility, pa.Table) and res.facility.num_rows > 0
    assert isinstance(res.events, pa.Table)
    assert res.write(tmp_path / "api") == res.folder
    CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "cli")])
    for name in ("summary.json", ".gigawatt-results.json"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    # The same results-folder rules: a folder gigawatt did not write is refused.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ResultsError):
        res.write(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_variants_run_beside_the_base():
    data = with_changes(SHORT, variants=[{"label": "tight", "set": {"power.rack_budget": "5 kW"}}])
    res = simulate(load_scenario(data))
    assert [r.label for r in res.runs] == ["base", "tight"]
    assert [row["label"] for row in res.summary["variants"]] == ["base", "tight"]
    assert res.runs[1].summary["throughput_tokens_per_s"] < res.summary["throughput_tokens_per_s"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cluster.nodes": -4}, "cluster.nodes"),
        ({"duration": "30 parsecs"}, "duration"),
        ({"workload.model": "GPT-9"}, "workload.model"),
        ({"cooling.kind": "immersion"}, "cooling.kind"),
    ],
)
def test_a_bad_dict_gets_the_words_a_bad_file_gets(tmp_path, changes, field):
    data = with_changes(SHORT, **changes)
    path = _write(tmp_path, data)
    with pytest.raises(ScenarioError) as from_file:
        load_scenario(path)
    with pytest.raises(ScenarioError) as from_dict:
        load_scenario(data)
    file_message, dict_message = str(from_file.value), str(from_dict.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: {re.escape(field)}: ", file_message)
    assert dict_message.startswith(f"<dict>: {field}: ")
    assert file_message.split(f" {field}: ", 1)[1] == dict_message.split(f" {field}: ", 1)[1]


def test_a_dict_is_not_changed_by_loading(tmp_path):
    data = with_changes(SHORT, variants=[{"label": "v", "set": {"power.rack_budget": "5 kW"}}])
    before = json.dumps(data, sort_keys=True)
    load_scenario(data)
    assert json.dumps(data, sort_keys=True) == before
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        load_scenario(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_version_is_the_installed_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"gigawatt {version('gigawatt')}\n"
    assert gigawatt.__version__ == version("gigawatt")


def test_piped_output_keeps_the_chain_on_one_line_and_labels_whole(tmp_path):
    starved = with_changes(example_dict("power-starved"), duration="3 min")
    data = with_changes(starved, variants=[{"label": LONG_LABEL, "set": {"power.rack_budget": "25 kW"}}])
    path = _write(tmp_path, data)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.run(
        [sys.executable, "-m", "gigawatt.cli", "run", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    chain = json.loads((tmp_path / "o" / "summary.json").read_text())["chain"]
    assert len(chain) > 80  # longer than the 80 columns rich assumes when not on a terminal
    assert chain in lines  # one line, whole
    assert any(LONG_LABEL in line for line in lines)
    assert "…" not in proc.stdout
