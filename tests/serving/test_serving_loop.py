"""Serving inside the coupled loop: the two resolutions agree, cooling events show in latency, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from gigawatt.summary import summarize
from gigawatt.workload.serving import metrics
from helpers import EXAMPLES, example_dict, scenario, with_changes

TRACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "AzureLLMInferenceTrace_conv.csv"

MID_SIZE = {
    "workload": {
        "kind": "serving",
        "model": "Llama-3.1-8B",
        "tensor_parallel": 1,
        "arrivals": {"kind": "poisson", "rate": 40, "prompt_tokens": 512, "output_tokens": 128},
        "scheduler": {"max_num_batched_tokens": 4096, "max_num_seqs": 128},
    },
    "duration": "2 min",
}


def run_mid_size(resolution: str, rate: float = 40):
    data = with_changes(example_dict("serving-llama70b-h100"), **MID_SIZE)
    data["workload"]["resolution"] = resolution
    data["workload"]["arrivals"]["rate"] = rate
    result = Engine(Scenario.model_validate(data)).run()
    return result, summarize(result)


def test_fluid_and_request_level_agree_on_throughput_and_mean_tpot():
    request, s_req = run_mid_size("request")
    _, s_fluid = run_mid_size("fluid")
    assert s_fluid["throughput_tokens_per_s"] == pytest.approx(s_req["throughput_tokens_per_s"], rel=0.10)
    lat = metrics.latencies([r.records() for r in request.workload.driver.replicas])
    assert s_fluid["tpot_s"]["mean"] == pytest.approx(float(np.nanmean(lat["tpot_s"])), rel=0.10)
    assert s_fluid["gpu_power_w"]["mean"] == pytest.approx(s_req["gpu_power_w"]["mean"], rel=0.15)


def test_fluid_and_request_level_agree_when_saturated():
    # 600 requests/s is well beyond what 8 replicas serve: both resolutions run at their capacity.
    request, s_req = run_mid_size("request", rate=600)
    _, s_fluid = run_mid_size("fluid", rate=600)
    assert s_req["served_fraction"] < 0.95 and s_fluid["served_fraction"] < 0.95
    assert s_fluid["throughput_tokens_per_s"] == pytest.approx(s_req["throughput_tokens_per_s"], rel=0.10)
    lat = metrics.latencies([r.records() for r in request.workload.driver.replicas])
    assert s_fluid["tpot_s"]["mean"] == pytest.approx(float(np.nanmean(lat["tpot_s"])), rel=0.10)


def test_request_level_energy_balance_and_headline_keys():
    result, s = run_mid_size("request")
    tot = result.totals
    assert abs(s["energy_balance_relative_error"]) < 1e-9 and tot.it_energy_j > 0
    for key in ("ttft_s", "tpot_s"):
        assert set(s[key]) == {"p50", "p90", "p99"} and s[key]["p50"] <= s[key]["p99"]
    assert s["goodput_requests_per_s"] > 0 and s["output_tokens_per_s"] > 0
    assert s["energy_j_per_output_token"] == pytest.approx(
        tot.it_energy_j / (s["output_tokens_per_s"] * 120), rel=0.01
    )


def test_cdu_failure_shows_in_p99_ttft_and_recovers():
    result, s = Engine(scenario("serving-cdu-failure")).run(), None
    s = summarize(result)
    phase = s["phases"][0]
    ttft = phase["ttft_p99_s"]
    assert s["throttle_fraction"]["thermal"] > 0.01
    assert ttft["during"] > 10 * ttft["before"]
    assert phase["tokens_per_s"]["during"] < phase["tokens_per_s"]["before"]
    assert phase["max_gpu_temp_c"]["during"] >= 86.9


def test_power_cap_slows_request_level_serving():
    _, free = run_mid_size("request")
    data = with_changes(
        example_dict("serving-llama70b-h100"), **MID_SIZE, **{"power.gpu_power_limit": "200 W"}
    )
    data["workload"]["arrivals"]["rate"] = 120
    capped = summarize(Engine(Scenario.model_validate(data)).run())
    data["power"]["gpu_power_limit"] = "700 W"
    uncapped = summarize(Engine(Scenario.model_validate(data)).run())
    assert capped["throttle_fraction"]["power"] > 0.2
    assert capped["gpu_power_w"]["max"] <= 200 * 1.15  # the cap holds to the part-to-part spread
    assert capped["tpot_s"]["p50"] > uncapped["tpot_s"]["p50"]
    assert free["errors"] == 0


@pytest.mark.skipif(
    not TRACE.exists(), reason=f"measured trace not found at {TRACE} (see ../shared/data/README.md)"
)
def test_trace_replay_runs_the_real_conversation_trace():
    data = with_changes(
        example_dict("serving-trace-replay"),
        duration="2 min",
        **{"workload.arrivals.path": str(TRACE), "workload.arrivals.limit": 600},
    )
    result = Engine(Scenario.model_validate(data)).run()
    s = summarize(result)
    assert 400 < s["serving"]["requests"] <= 600  # the first 600 rows, those arriving within 2 minutes
    assert s["serving"]["finished_requests"] > 0.9 * s["serving"]["requests"]
    assert 0 < s["ttft_s"]["p50"] < 1 and 0 < s["tpot_s"]["p50"] < 0.05


HEAD = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def _bad_trace(tmp_path: Path, body: str) -> Path:
    trace = tmp_path / "trace.csv"
    trace.write_text(body)
    text = (EXAMPLES / "serving-trace-replay.yaml").read_text()
    text = text.replace("../../shared/data/traces/AzureLLMInferenceTrace_conv.csv", str(trace))
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,10\n", "GeneratedTokens"),
        (HEAD + "2023-11-16 18:15:46.6805900,10,5\n2023-11-16 18:15:47.0,abc,5\n", "row 2 (line 3)"),
        (HEAD + "2023-11-16 18:15:46.6805900,10,-5\n", "row 1 (line 2)"),
        (HEAD + "2023-11-16 18:15:47.0,10,5\n2023-11-16 18:15:46.0,10,5\n", "row 2 (line 3)"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n", "no requests"),
        ("", "trace.csv"),
    ],
)
def test_malformed_trace_exits_2_naming_file_and_row(tmp_path, body, fragment):
    path = _bad_trace(tmp_path, body)
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "trace.csv" in result.output and fragment in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_missing_trace_file_is_named_with_the_scenario_line(tmp_path):
    path = _bad_trace(tmp_path, "x")
    path.write_text(path.read_text().replace(str(tmp_path / "trace.csv"), "nowhere.csv"))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and "workload.arrivals.path: no trace file" in result.output


def test_model_that_does_not_fit_says_what_would():
    data = with_changes(
        example_dict("serving-llama70b-h100"),
        **{"workload.model": "Llama-3.1-405B", "workload.tensor_parallel": 1},
    )
    with pytest.raises(ValueError) as err:
        Engine(Scenario.model_validate(data))
    # 405B in bf16 is 812 GB: 8 × 2 GPUs hold 51 GB each; fp8 alone would not fit on one GPU.
    text = str(err.value)
    assert "weights in bf16 (811.7 GB per GPU at tensor_parallel 1 × pipeline_parallel 1) leave no" in text
    assert text.endswith("raise tensor_parallel × pipeline_parallel to 8 × 2")
