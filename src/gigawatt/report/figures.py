"""The report's plotly figures, one function per chart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigawatt.report.series import FaultMarks, FleetSeries, supply_series

HEIGHT = 460
FAULT_COLORS = {
    "GPU shutdowns / resets": "#d62728",
    "Power supply events": "#ff7f0e",
    "Cooling events": "#1f77b4",
    "Other events": "#7f7f7f",
}
QUANTILE_COLORS = {"max": "#d62728", "p95": "#ff7f0e", "median": "#2ca02c", "p5": "#9467bd",
                   "min": "#1f77b4", "mean": "#111111"}
REASON_COLORS = {"SwPowerCap": "#ff7f0e", "HwSlowdown": "#8c564b", "SwThermalSlowdown": "#e377c2",
                 "HwThermalSlowdown": "#d62728", "HwPowerBrakeSlowdown": "#7f7f7f"}
# Limits are legend entries rather than text on the plot: they can sit a degree or two apart.
LIMIT_LINES = (("temp_max_operating_c", "max operating", "#ff7f0e"),
               ("temp_slowdown_c", "slowdown", "#d62728"),
               ("temp_shutdown_c", "shutdown", "#000000"))


@dataclass(frozen=True)
class TimeAxis:
    """Seconds shown in a unit that suits the run's length."""

    seconds_per_unit: float
    unit: str

    def __call__(self, time_s: np.ndarray) -> np.ndarray:
        return np.asarray(time_s) / self.seconds_per_unit

    @property
    def title(self) -> str:
        return f"time ({self.unit})"


def time_axis(duration_s: float) -> TimeAxis:
    if duration_s <= 900:
        return TimeAxis(1.0, "s")
    if duration_s <= 6 * 3600:
        return TimeAxis(60.0, "min")
    return TimeAxis(3600.0, "h")


def power_figure(facility: dict[str, np.ndarray], marks: list[FaultMarks], axis: TimeAxis) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    x = axis(facility["time_s"])
    for name, column, dash in (("facility", "facility_power_kw", "solid"), ("IT", "it_power_kw", "solid"),
                               ("GPUs", "gpu_power_kw", "dot")):
        fig.add_trace(go.Scatter(x=x, y=facility[column], name=f"{name} kW", line={"dash": dash}),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=facility["rack_power_max_kw"], name="hottest rack kW",
                             line={"color": "#9467bd"}), row=2, col=1)
    budget = facility["rack_budget_kw"]
    if np.isfinite(budget).any():
        fig.add_trace(go.Scatter(x=x, y=budget, name="rack budget kW",
                                 line={"color": "#d62728", "dash": "dash"}), row=2, col=1)
    _add_fault_marks(fig, marks, axis, _top(facility["facility_power_kw"]), row=1)
    _add_fault_marks(fig, marks, axis, _top(facility["rack_power_max_kw"], budget), row=2, legend=False)
    fig.update_yaxes(title_text="kW", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="rack kW", rangemode="tozero", row=2, col=1)
    return _styled(fig, axis, rows=2)


def temperature_figure(fleet: FleetSeries, facility: dict[str, np.ndarray], limits: dict,
                       axis: TimeAxis) -> go.Figure:
    fig = make_subplots()
    x = axis(fleet.time_s)
    for name, values in fleet.temp_c.items():
        fig.add_trace(go.Scatter(x=x, y=values, name=f"die {name}", line={"color": QUANTILE_COLORS[name]}))
    for name, values in supply_series(facility).items():
        fig.add_trace(go.Scatter(x=axis(facility["time_s"]), y=values, name=name, line={"dash": "dash"}))
    span = x[[0, -1]] if len(x) else np.array([0.0, 1.0])
    for key, label, color in LIMIT_LINES:
        if limits.get(key) is not None:
            fig.add_trace(go.Scatter(x=span, y=[limits[key]] * 2, name=f"{label} {limits[key]:g} °C",
                                     mode="lines", hoverinfo="skip",
                                     line={"color": color, "dash": "dot", "width": 1.5}))
    fig.update_yaxes(title_text="°C")
    return _styled(fig, axis)


def clocks_figure(fleet: FleetSeries, axis: TimeAxis) -> go.Figure:
    """SM clocks, and below them the share of GPUs under each throttle reason; with no reason active the
    reasons panel is left out (an empty panel reads as missing data) and the chart's title says so."""
    rows = 2 if fleet.reason_share else 1
    fig = (make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.06)
           if rows == 2 else make_subplots())
    x = axis(fleet.time_s)
    for name, values in fleet.clock_mhz.items():
        mean = name == "mean"
        line = {"color": QUANTILE_COLORS[name], "width": 2.5 if mean else 1.2,
                "dash": "solid" if mean else "dot"}
        fig.add_trace(go.Scatter(x=x, y=values, name=f"SM clock {name}", line=line),
                      row=1 if rows == 2 else None, col=1 if rows == 2 else None)
    for name, share in fleet.reason_share.items():
        fig.add_trace(go.Scatter(x=x, y=100 * share, name=name, fill="tozeroy",
                                 line={"color": REASON_COLORS.get(name)}), row=2, col=1)
    if rows == 2:
        fig.update_yaxes(title_text="MHz", row=1, col=1)
        fig.update_yaxes(title_text=f"% of {fleet.unit}s", range=[0, 100], row=2, col=1)
    else:
        fig.update_yaxes(title_text="MHz")
        fig.update_layout(title={"text": "no throttle reason was active", "x": 1.0, "xanchor": "right",
                                 "font": {"size": 12, "color": "#555"}})
    return _styled(fig, axis, rows=rows)


def throughput_figure(facility: dict[str, np.ndarray], marks: list[FaultMarks], axis: TimeAxis) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = axis(facility["time_s"])
    backlog = facility["backlog_tokens"]
    queued = bool(np.nanmax(backlog, initial=0.0) > 0)
    if queued:  # an all-zero backlog would only put fractional ticks on an empty axis
        fig.add_trace(go.Scatter(x=x, y=backlog, name="backlog tokens", fill="tozeroy",
                                 fillcolor="rgba(127,127,127,0.15)",
                                 line={"color": "rgba(127,127,127,0.5)", "width": 1}), secondary_y=True)
    fig.add_trace(go.Scatter(x=x, y=facility["demand_tokens_per_s"], name="demand tokens/s",
                             line={"color": "#111111", "dash": "dash"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=x, y=facility["output_tokens_per_s"], name="output tokens/s",
                             line={"color": "#2ca02c"}), secondary_y=False)
    _add_fault_marks(fig, marks, axis, _top(facility["output_tokens_per_s"], facility["demand_tokens_per_s"]))
    fig.update_yaxes(title_text="tokens/s", rangemode="tozero", secondary_y=False)
    if queued:
        fig.update_yaxes(title_text="backlog tokens", rangemode="tozero", showgrid=False, tickformat="~s",
                         secondary_y=True)
    else:
        fig.update_yaxes(visible=False, secondary_y=True)
    return _styled(fig, axis)


def _top(*series: np.ndarray) -> float:
    """Height for fault marker lines: just above the tallest finite value drawn in the panel."""
    finite = np.concatenate([s[np.isfinite(s)] for s in series])
    return float(finite.max()) * 1.05 if len(finite) and finite.max() > 0 else 1.0


def _add_fault_marks(fig: go.Figure, marks: list[FaultMarks], axis: TimeAxis, top: float,
                     row: int | None = None, legend: bool = True) -> None:
    """Fault bins as vertical lines from zero to `top`, labelled on hover; one legend entry per category."""
    for mark in marks:
        x = np.column_stack([mark.time_s, mark.time_s, np.full(len(mark.time_s), np.nan)]).ravel()
        y = np.tile([0.0, top, np.nan], len(mark.time_s))
        text = np.repeat(mark.labels, 3).tolist()
        fig.add_trace(go.Scatter(x=axis(x), y=y, text=text, name=mark.category, legendgroup=mark.category,
                                 showlegend=legend, mode="lines",
                                 line={"color": FAULT_COLORS[mark.category], "width": 1, "dash": "dashdot"},
                                 hovertemplate="%{text}<extra></extra>"),
                      row=row, col=1 if row else None)


def _styled(fig: go.Figure, axis: TimeAxis, rows: int = 1) -> go.Figure:
    fig.update_layout(template="plotly_white", height=HEIGHT if rows == 1 else HEIGHT + 140,
                      margin={"l": 70, "r": 20, "t": 40, "b": 50}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    fig.update_xaxes(title_text=axis.title, row=rows, col=1)
    return fig
