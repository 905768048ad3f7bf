"""Chart details that read wrong in a browser: empty panels, fractional ticks on an empty axis, numbers in
exponent notation, shares beside percentages, a figure rounded to one digit."""

from __future__ import annotations

import numpy as np

from gigawatt.report.compare import comparison_figure, comparison_section
from gigawatt.report.figures import TimeAxis, clocks_figure, throughput_figure
from gigawatt.report.html import _format
from gigawatt.report.series import FleetSeries

T = np.arange(1, 31) * 10.0
AXIS = TimeAxis(1.0, "s")


def _facility(backlog: np.ndarray) -> dict[str, np.ndarray]:
    return {"time_s": T, "backlog_tokens": backlog, "demand_tokens_per_s": np.full(30, 1e4),
            "output_tokens_per_s": np.full(30, 9e3)}


def test_no_backlog_axis_without_a_backlog():
    empty = throughput_figure(_facility(np.zeros(30)), [], AXIS)
    assert [t.name for t in empty.data] == ["demand tokens/s", "output tokens/s"]
    assert empty.layout.yaxis2.visible is False
    queued = throughput_figure(_facility(np.linspace(0, 5e4, 30)), [], AXIS)
    assert "backlog tokens" in [t.name for t in queued.data] and queued.layout.yaxis2.visible is not False


def test_clocks_without_throttle_reasons_take_one_panel():
    clocks = {"mean": np.full(30, 1980.0), "min": np.full(30, 1900.0)}
    calm = clocks_figure(FleetSeries("GPU", T, {}, clocks, {}), AXIS)
    assert "yaxis2" not in calm.layout.to_plotly_json() and all(t.yaxis in (None, "y") for t in calm.data)
    assert "no throttle reason" in calm.layout.title.text
    busy = clocks_figure(FleetSeries("GPU", T, {}, clocks, {"SwPowerCap": np.full(30, 0.5)}), AXIS)
    assert {t.yaxis for t in busy.data} == {"y", "y2"}


def test_comparison_numbers_read_as_numbers():
    rows = [
        {"label": "base", "throughput_tokens_per_s": 20219.4, "demand_tokens_per_s": 22000.0,
         "throttle_fraction.thermal": 0.12, "throttle_fraction.power": 0.0, "errors": 0},
        {"label": "other", "throughput_tokens_per_s": 21423.0, "demand_tokens_per_s": 22000.0,
         "throttle_fraction.thermal": 0.00015, "throttle_fraction.power": 0.0, "errors": 0},
    ]
    figure = comparison_section([{**r, **{k: r.get(k) for k in (
        "energy_j_per_token", "max_gpu_temp_c", "moe.balancedness_mean")}} for r in rows]).figure
    bars = {t.name: t for t in figure.data if t.type == "bar"}
    assert list(bars["tok/s"].text) == ["20,219", "21,423"]
    assert list(bars["thermal"].text) == ["12.0%", "0.015%"] and list(bars["thermal"].y) == [12.0, 0.015]
    assert not any("e+" in str(text) for bar in bars.values() for text in bar.text)
    demand = [t for t in figure.data if t.name == "demand tokens/s"]
    assert len(demand) == 1 and list(demand[0].y) == [22000.0, 22000.0]
    zero = [a.text for a in figure.layout.annotations if a.text == "0 in every run"]
    assert len(zero) == 2  # the power and errors panels
    axes = [key for key in figure.layout.to_plotly_json() if key.startswith("yaxis")]
    assert len(axes) == len(bars)  # no empty grid cells


def test_comparison_grid_has_only_the_metrics_panels():
    rows = [{"label": "a", "m": 1.0}, {"label": "b", "m": 2.0}]
    figure = comparison_figure(rows, [("m", "m", "")] * 4)
    assert sum(1 for key in figure.layout.to_plotly_json() if key.startswith("yaxis")) == 4


def test_key_figures_keep_three_significant_digits():
    assert _format(1.0004) == "1.00" and _format(0.947) == "0.947" and _format(2.5) == "2.50"
    assert _format(12.34) == "12.3" and _format(20219.4) == "20,219" and _format(0.0) == "0.0"
