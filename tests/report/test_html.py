"""report.html: self-contained, plotly.js once, deterministic, bounded in size, robust to quiet runs."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.offline import get_plotlyjs

from gigawatt.report.aggregate import MAX_POINTS
from gigawatt.report.html import Section, builtin_sections, event_counts, write_report

from .synthetic import (
    empty_events,
    synthetic_events,
    synthetic_facility,
    synthetic_summary,
    synthetic_timeseries,
)

PLOTLY_JS_MARKER = "* plotly.js v"  # the bundle's licence header
CHART_TITLES = (
    "Power vs budget",
    "Temperatures vs limits",
    "Clocks and throttle reasons",
    "Throughput vs demand",
    "Events",
)


def render(tmp_path, inputs, name="report.html", **kwargs) -> str:
    path = tmp_path / name
    write_report(path, *inputs, **kwargs)
    return path.read_text(encoding="utf-8")


def test_report_inlines_plotly_js_exactly_once(tmp_path, run_inputs):
    page = render(tmp_path, run_inputs)
    assert page.count(PLOTLY_JS_MARKER) == 1
    assert page.count(get_plotlyjs()) == 1
    # Four charts; the inlined plotly.js itself may name Plotly.newPlot( too (plotly 5 does).
    assert page.replace(get_plotlyjs(), "").count("Plotly.newPlot(") == 4


def test_report_needs_no_network(tmp_path, run_inputs):
    page = render(tmp_path, run_inputs)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    # The plotly.js bundle mentions URLs in its own code (map tiles, docs); nothing else may.
    ours = page.replace(get_plotlyjs(), "")
    assert "http://" not in ours
    assert "https://" not in ours
    assert "cdn" not in ours.lower()


def test_report_has_every_chart_title_and_the_chain(tmp_path, run_inputs):
    page = render(tmp_path, run_inputs)
    for title in CHART_TITLES:
        assert f"<h2>{title}</h2>" in page
    assert "31% GPU-time thermally throttled" in page
    assert "&lt;test&gt;" in page  # the description is escaped, not injected


def test_same_inputs_give_a_byte_identical_file(tmp_path, run_inputs):
    write_report(tmp_path / "a.html", *run_inputs)
    write_report(tmp_path / "b.html", *run_inputs)
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_large_cluster_report_stays_small(tmp_path):
    timeseries = synthetic_timeseries(1000, 500)
    facility = synthetic_facility(timeseries, 33.0, n_cdus=8)
    inputs = (synthetic_summary(1000, 500.0, 33.0), timeseries, facility, synthetic_events(500.0))
    size = len(render(tmp_path, inputs).encode())
    assert size < len(get_plotlyjs()) + 1_000_000
    traces = [trace for section in builtin_sections(*inputs) for trace in section.figure.data]
    assert len(traces) < 40  # quantiles across GPUs, never a trace per GPU


def test_long_runs_are_downsampled(run_inputs):
    timeseries = synthetic_timeseries(16, 5000, interval_s=0.5)
    summary = synthetic_summary(16, 2500.0, 33.0)
    facility = synthetic_facility(timeseries, 33.0)
    sections = builtin_sections(summary, timeseries, facility, synthetic_events(2500.0))
    lengths = [len(trace.x) for section in sections for trace in section.figure.data]
    assert max(lengths) <= MAX_POINTS
    assert max(lengths) == MAX_POINTS  # merged, not dropped to a handful


def test_quiet_run_without_events_or_budget(tmp_path):
    timeseries = synthetic_timeseries(32, 50)
    summary = synthetic_summary(32, 50.0, None)
    inputs = (summary, timeseries, synthetic_facility(timeseries, None), empty_events())
    page = render(tmp_path, inputs)
    assert "No events were recorded." in page
    assert "<dt>Rack budget</dt><dd>none</dd>" in page
    power = builtin_sections(*inputs)[0].figure
    assert [trace.name for trace in power.data] == ["facility kW", "IT kW", "GPUs kW", "hottest rack kW"]


def test_missing_summary_fields_are_left_out(tmp_path, run_inputs):
    _, timeseries, facility, events = run_inputs
    page = render(tmp_path, ({"scenario": "bare"}, timeseries, facility, events))
    assert "<h1>bare</h1>" in page
    assert "<dt>PUE</dt>" not in page


def test_fault_events_are_marked_on_power_and_throughput(run_inputs):
    sections = builtin_sections(*run_inputs)
    for section in (sections[0], sections[3]):
        names = {trace.name for trace in section.figure.data}
        assert {"GPU shutdowns / resets", "Cooling events"} <= names
        assert "throttle_start" not in str(section.figure.to_dict())


def test_node_level_telemetry_is_labelled_per_node(tmp_path, run_inputs):
    summary, timeseries, facility, events = run_inputs
    per_node = timeseries.rename_columns(["node" if c == "gpu" else c for c in timeseries.column_names])
    clocks = builtin_sections(summary, per_node, facility, events)[2].figure
    assert clocks.layout.yaxis2.title.text == "% of nodes"


def test_event_counts_are_sorted_by_frequency(run_inputs):
    counts = event_counts(run_inputs[3])
    assert counts.column_names == ["kind", "count", "first time_s", "last time_s"]
    assert counts.column("count").to_pylist()[:2] == [2, 2]
    assert counts.column("kind").to_pylist()[:2] == ["thermal_shutdown", "throttle_start"]


def test_extra_sections_follow_the_built_in_charts(tmp_path, run_inputs):
    latency = go.Figure(go.Scatter(x=np.arange(3.0), y=np.arange(3.0)))
    page = render(
        tmp_path,
        run_inputs,
        extra_sections=[("Latency percentiles", latency), Section("TTFT", latency, "Look for the tail.")],
    )
    assert page.index("<h2>Throughput vs demand</h2>") < page.index("<h2>Latency percentiles</h2>")
    assert page.index("<h2>TTFT</h2>") < page.index("<h2>Events</h2>")
    assert 'id="gw-chart-5"' in page
    assert "Look for the tail." in page
    assert page.count(PLOTLY_JS_MARKER) == 1


def test_empty_timeseries_still_renders(tmp_path, run_inputs):
    summary, _, facility, events = run_inputs
    no_rows = pa.table({"time_s": pa.array([], pa.float64())})  # what the recorder returns with no interval
    page = render(tmp_path, (summary, no_rows, facility, events))
    assert "<h2>Clocks and throttle reasons</h2>" in page
