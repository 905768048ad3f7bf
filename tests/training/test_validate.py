"""`gigawatt validate training` and `gigawatt plan training`: published runs, held out, and the planner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.workload.training.flops import model_flops_per_token
from gigawatt.workload.training.validate import checks, fitted_runs, runs, summary


@pytest.fixture(scope="module")
def results():
    return checks()


def test_every_published_run_is_checked_and_all_but_the_fitted_one_held_out(results):
    assert len(results) == len(runs()) >= 12
    fitted = [c for c in results if not c.held_out]
    assert [c.name for c in fitted] == sorted(fitted_runs())
    assert all(abs(c.error) < 0.005 for c in fitted)  # the fit reproduces its own run


def test_held_out_runs_are_within_their_tolerance(results):
    for c in results:
        assert abs(c.error) <= c.tolerance, (c.name, c.error)
    stats = summary(results)
    assert stats["held_out_mdape"] < 0.2


def test_published_tflops_turn_into_tokens_with_the_sources_convention(results):
    llama = next(c for c in results if c.name == "llama3-405b-16384-h100")
    from gigawatt.arch.spec import load_model

    per_token = model_flops_per_token(load_model("Llama-3.1-405B"), 8192, causal=False)
    assert llama.published_tokens_per_gpu == pytest.approx(400e12 / per_token)


def test_validate_training_prints_the_table_and_json():
    result = CliRunner().invoke(app, ["validate", "training"])
    assert result.exit_code == 0, result.output
    assert "held out" in result.output and "korthikanti-175b-64-a100" in result.output
    data = json.loads(CliRunner().invoke(app, ["validate", "training", "--json"]).output)
    assert {"runs", "summary"} <= set(data) and data["summary"]["runs"] == len(runs())


def test_plan_training_ranks_fitting_configs(tmp_path):
    args = ["plan", "training", "--model", "llama-3.1-70b", "--gpus", "256", "--gpu", "h100",
            "--seq", "8192", "--global-batch", "512", "--top", "5", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    top = data["top"]
    assert len(top) == 5 and data["fit_in_memory"] < data["evaluated"]
    speeds = [r["tokens_per_s"] for r in top]
    assert speeds == sorted(speeds, reverse=True)
    for r in top:
        p = r["parallel"]
        assert p["tensor"] * p["context"] * p["pipeline"] * p["data"] == 256
        assert r["memory_gb"]["total"] <= r["memory_gb"]["usable"]


def test_plan_training_bad_inputs_exit_2_with_a_message():
    bad_model = CliRunner().invoke(app, ["plan", "training", "--model", "llama-9", "--gpus", "64"])
    assert bad_model.exit_code == 2 and "unknown model" in bad_model.output
    impossible = CliRunner().invoke(
        app, ["plan", "training", "--model", "llama-3.1-405b", "--gpus", "8", "--global-batch", "8"]
    )
    assert impossible.exit_code == 2 and "fits" in impossible.output
