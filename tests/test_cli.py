"""`gigawatt run` end to end: the results folder, its keys, determinism and atomic writing."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import gigawatt.results
from gigawatt.cli import app
from helpers import EXAMPLES

SUMMARY_KEYS = {
    "throughput_tokens_per_s",
    "energy_j_per_token",
    "gpu_power_w",
    "facility_power_kw",
    "pue",
    "max_gpu_temp_c",
    "throttle_fraction",
    "errors",
    "duration_s",
    "seed",
}


def test_run_writes_complete_results(tmp_path):
    out = tmp_path / "res"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "power-starved.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "power-throttled" in result.output and "tokens/s" in result.output
    assert {p.name for p in out.iterdir()} == {
        ".gigawatt-results.json",
        "summary.json",
        "timeseries.parquet",
        "facility.parquet",
        "events.parquet",
        "report.html",
        "plotly.min.js",  # the report's plotly.js, shared with any variants' reports
    }
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert set(summary["gpu_power_w"]) == {"mean", "max"} and set(summary["facility_power_kw"]) == {
        "mean",
        "max",
    }
    assert set(summary["throttle_fraction"]) == {"power", "thermal", "power_brake"}
    assert pq.read_table(out / "timeseries.parquet").num_rows == 32 * 180
    assert pq.read_table(out / "events.parquet").column_names == [
        "time_s",
        "kind",
        "scope",
        "index",
        "detail",
    ]
    html = (out / "report.html").read_text()
    assert "Power vs budget" in html
    # The one script the page loads is the shared plotly.js beside it, by a relative path.
    assert html.count("<script src=") == 1 and '<script src="plotly.min.js"' in html


def test_same_scenario_gives_byte_identical_summary_through_the_cli(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert (
            CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(out)]).exit_code
            == 0
        )
        runs.append((out / "summary.json").read_bytes())
    assert runs[0] == runs[1]


def test_interrupted_write_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    def broken_report(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gigawatt.results, "write_report", broken_report)
    out = tmp_path / "res"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(out)])
    assert result.exit_code != 0  # Ctrl-C while writing
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_previous_results_but_nothing_else(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(precious)])
    assert refused.exit_code == 2 and "gigawatt did not write it" in refused.output
    assert (precious / "notes.txt").read_text() == "mine"
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    refused = CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(afile)])
    assert refused.exit_code == 2 and "not a folder" in refused.output and afile.read_text() == "x"
    precious.rename(tmp_path / "kept")
    out = tmp_path / "res"
    assert CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(out)]).exit_code == 0
    (out / "summary.json").write_text("{}")  # an earlier run's file, changed: still gigawatt's to replace
    assert CliRunner().invoke(app, ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(out)]).exit_code == 0
    assert (out / "summary.json").read_text() != "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile.txt", "kept", "res"]


def test_model_command_json():
    result = CliRunner().invoke(app, ["model", "deepseek-v3", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["params_total"] == pytest.approx(671e9, rel=0.01)
    assert set(info["kv_bytes_per_token"]) == {"bf16", "fp8"}
    assert info["kv_bytes_per_token"]["bf16"] == 70272
    bad = CliRunner().invoke(app, ["model", "gpt-17"])
    assert bad.exit_code == 2 and "unknown model" in bad.output


def test_variants_are_run_side_by_side(tmp_path):
    scenario = tmp_path / "v.yaml"
    text = (EXAMPLES / "balanced.yaml").read_text().replace("duration: 30 min", "duration: 5 min")
    scenario.write_text(text + 'variants:\n  - {label: tight, set: {power.rack_budget: "20 kW"}}\n')
    out = tmp_path / "res"
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "variants side by side" in result.output
    summary = json.loads((out / "summary.json").read_text())
    labels = [row["label"] for row in summary["variants"]]
    assert labels == ["base", "tight"]
    assert summary["variants"][1]["set"] == {"power.rack_budget": "20 kW"}
    assert (out / "variants" / "tight" / "summary.json").exists()
    assert "Variants side by side" in (out / "report.html").read_text()


def test_bad_variant_names_the_variant(tmp_path):
    scenario = tmp_path / "v.yaml"
    text = (EXAMPLES / "balanced.yaml").read_text()
    scenario.write_text(text + 'variants:\n  - {label: bad, set: {power.rack_budget: "20 kg"}}\n')
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "variants.0.set: power.rack_budget" in result.output and "not a power unit" in result.output
