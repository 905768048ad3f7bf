"""Side-by-side charts of runs: a scenario and its variants (router, placement, budget … choices), or the
points of a sweep. One bar panel per compared metric, with numbers written as the report writes them."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigawatt.report.html import Section
from gigawatt.summary import COMPARED

# Compared metrics that are shares of GPU-time: shown in percent beside the other panels' units.
SHARES = {"throttle_fraction.thermal", "throttle_fraction.power"}


def bar_label(value: float, percent: bool = False) -> str:
    """A bar's number: thousands separated, three significant digits below 1,000, shares in percent."""
    if percent:
        return f"{value:.1f}%" if value == 0 or abs(value) >= 1 else f"{value:.2g}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def comparison_figure(
    rows: list[dict[str, Any]],
    metrics: list[tuple[str, str, str]],
    cols: int = 3,
    shares: frozenset[str] | set[str] = SHARES,
) -> go.Figure:
    """Bar panels of `metrics` (key, label, how to read it) over `rows` (each with a "label"). A panel
    whose runs are all zero says so on a 0-1 axis rather than drawing nothing on a -1..1 one; the
    throughput panel carries the demand as a dashed line where the rows have it; `shares` are the
    metrics that are fractions, shown in percent."""
    n_rows = -(-len(metrics) // cols)
    titles = [f"{label}{' (%)' if key in shares else ''} — {how}" for key, label, how in metrics]
    # Cells past the last metric get no axes: an empty grid cell would read as a panel with no data.
    specs = [[{} if r * cols + c < len(metrics) else None for c in range(cols)] for r in range(n_rows)]
    fig = make_subplots(rows=n_rows, cols=cols, specs=specs, subplot_titles=titles, vertical_spacing=0.16)
    labels = [r["label"] for r in rows]
    for i, (key, label, _) in enumerate(metrics):
        percent = key in shares
        values = [(r.get(key) or 0.0) * (100 if percent else 1) for r in rows]
        at = {"row": i // cols + 1, "col": i % cols + 1}
        fig.add_trace(
            go.Bar(x=labels, y=values, name=label, showlegend=False,
                   text=[bar_label(v, percent) for v in values], textposition="auto"),
            **at,
        )
        if key == "throughput_tokens_per_s" and any(r.get("demand_tokens_per_s") for r in rows):
            demand = [r.get("demand_tokens_per_s") or 0.0 for r in rows]
            fig.add_trace(
                go.Scatter(x=labels, y=demand, name="demand tokens/s", mode="lines+markers",
                           line={"color": "#111111", "dash": "dash"}),
                **at,
            )
        if not any(values):  # zero-height bars draw nothing: say it
            fig.update_yaxes(range=[0, 1], **at)
            axis = "" if i == 0 else str(i + 1)
            fig.add_annotation(text="0 in every run", showarrow=False, x=0.5, y=0.5,
                               xref=f"x{axis} domain", yref=f"y{axis} domain", font={"color": "#555"})
        fig.update_yaxes(rangemode="tozero", tickformat="~s" if not percent else None, **at)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=340 * n_rows, margin={"t": 70, "b": 40, "l": 60, "r": 20},
                      template="plotly_white", legend={"orientation": "h", "y": 1.08, "x": 0})
    return fig


def comparison_section(rows: list[dict[str, Any]]) -> Section:
    shown = [m for m in COMPARED if any(r[m[0]] is not None for r in rows)]
    return Section(
        "Variants side by side",
        comparison_figure(rows, shown),
        "Look for the variant that keeps tokens/s up (against the dashed demand) and GPUs cooler; each "
        "variant changes only the fields listed in summary.json › variants.",
    )
