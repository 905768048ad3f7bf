"""The sweep dataset's rows and schema, and the report's Pareto front."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gigawatt.sweep.dataset import METRICS, done_points, param_types, read_dataset, row, schema, write_row
from gigawatt.sweep.report import pareto_mask, write_sweep_report
from gigawatt.sweep.spec import read_sweep
from report.browser import Chromium, leaves_disk, why_unavailable

SERVING = {
    "throughput_tokens_per_s": 1000.0,
    "demand_tokens_per_s": 1100.0,
    "facility_power_kw": {"mean": 6.0, "max": 8.0},
    "pue": 1.2,
    "ttft_s": {"p50": 0.05, "p99": 0.7},
    "throttle_fraction": {"power": 0.25, "thermal": 0.0, "power_brake": 0.0},
    "errors": 0,
    "chain": "a → b",
}


def test_rows_take_headline_metrics_and_null_what_a_summary_lacks(tmp_path):
    params = [("power.rack_budget", "float64"), ("workload.precision", "string")]
    units = {"power.rack_budget": "W", "workload.precision": None}
    training = {
        "throughput_tokens_per_s": 50.0,
        "training": {"mfu": 0.41, "step_time_s": {"mean": 9.5}},
        "pue": "n/a",
    }
    for i, (summary, pid) in enumerate([(SERVING, "0123456789abcdef"), (training, "fedcba9876543210")]):
        values = {"power.rack_budget": 8000.0, "workload.precision": "fp8"}
        written = {"power.rack_budget": "8 kW", "workload.precision": "fp8"}
        write_row(
            tmp_path,
            row(pid, i, params, values, written, summary, None, f"runs/{pid}"),
            schema(params, units),
        )
    assert done_points(tmp_path) == {"0123456789abcdef", "fedcba9876543210"}
    serving, training_row = read_dataset(tmp_path).to_pylist()
    assert serving["facility_mw_peak"] == 8.0e-3 and serving["facility_mw_mean"] == 6.0e-3
    assert serving["ttft_p99_s"] == 0.7 and serving["throttle_power"] == 0.25 and serving["errors"] == 0
    assert serving["mfu"] is None and serving["step_time_mean_s"] is None  # not a training run
    assert training_row["ttft_p99_s"] is None and training_row["facility_mw_peak"] is None
    assert training_row["mfu"] == 0.41 and training_row["step_time_mean_s"] == 9.5
    assert training_row["pue"] is None  # a value of an unexpected kind reads as missing
    assert serving["set"] == '{"power.rack_budget": "8 kW", "workload.precision": "fp8"}'


def test_every_row_file_has_one_schema(tmp_path):
    params = param_types([{"a.b": 1}, {"a.b": 2.5}, {"a.b": None}], ["a.b"])
    assert params == [("a.b", "float64")]
    assert param_types([{"x": True}], ["x"]) == [("x", "bool")]
    assert param_types([{"x": 3}, {"x": 4}], ["x"]) == [("x", "int64")]
    assert param_types([{"x": "fp8"}, {"x": 3}], ["x"]) == [("x", "string")]
    sch = schema(params, {"a.b": "W"})
    assert sch.names[:4] == ["point", "index", "status", "failure"]
    assert sch.names[-2:] == ["set", "results"]
    assert sch.names[5 : 5 + len(METRICS)] == [m[0] for m in METRICS]
    assert sch.field("a.b").metadata == {b"axis": b"true", b"unit": b"W"}
    assert sch.field("errors").type == pa.int64() and sch.field("chain").type == pa.string()
    failed = row("0123456789abcdef", 0, params, {"a.b": None}, {"a.b": None}, None, "too big", None)
    path = write_row(tmp_path, failed, sch)
    assert pq.read_schema(path).equals(sch, check_metadata=True)
    assert [p.name for p in (tmp_path / "points").iterdir()] == [
        "0123456789abcdef.parquet"
    ]  # no temporary left


def test_pareto_front_keeps_exactly_the_undominated_points():
    # tokens/s (higher is better), facility MW (lower is better)
    values = np.array([[10, 5], [12, 6], [9, 4], [11, 6], [12, 7], [np.nan, 1], [8, 4]], dtype=float)
    front = pareto_mask(values, ["max", "min"])
    assert front.tolist() == [True, True, True, False, False, False, False]
    rng = np.random.default_rng(0)
    cloud = rng.random((200, 3))
    mask = pareto_mask(cloud, ["max", "min", "min"])
    signed = cloud * np.array([-1, 1, 1])
    for i in range(len(cloud)):
        dominated = ((signed <= signed[i]).all(axis=1) & (signed < signed[i]).any(axis=1)).any()
        assert mask[i] == (not dominated)


def test_the_report_shows_the_front_and_a_heatmap_per_pair_of_axes(write_sweep, tmp_path):
    sweep = read_sweep(
        write_sweep(axes={"power.rack_budget": ["6 kW", "8 kW", "12 kW"], "workload.arrivals.rate": [2, 4]})
    )
    params = param_types([p.values for p in sweep.points], [a.path for a in sweep.axes])
    sch = schema(params, sweep.units)
    for p in sweep.points:  # synthetic metrics: more load, more tokens/s and power
        rate = p.values["workload.arrivals.rate"]
        summary = {
            **SERVING,
            "throughput_tokens_per_s": 500.0 * rate,
            "facility_power_kw": {"mean": 5, "max": 4 + rate},
        }
        write_row(tmp_path, row(p.id, p.index, params, p.values, p.set, summary, None, f"runs/{p.id}"), sch)
    page = write_sweep_report(tmp_path, sweep).read_text()
    assert "Pareto front" in page and "workload.arrivals.rate × power.rack_budget" in page
    assert "6 of 6 finished (0 failed)" in page
    assert page == write_sweep_report(tmp_path, sweep).read_text()  # deterministic
    # The points side by side with the variants' bar panels, and one shared plotly.js beside the page.
    assert "Points side by side" in page
    assert '<script src="plotly.min.js"' in page and (tmp_path / "plotly.min.js").is_file()
    assert len(page) < 1_000_000
    if why_unavailable() is None:
        browser = Chromium()
        try:
            loaded = browser.load(tmp_path / "report.html")
        finally:
            browser.close()
        assert loaded.console_errors == []
        assert not [u for u in loaded.requests if leaves_disk(u)], loaded.requests
        assert loaded.charts and all(c["with_points"] and c["paths"] for c in loaded.charts), loaded.charts
