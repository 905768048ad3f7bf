"""DIR/report.html of a sweep: the Pareto front of its finished points and heatmaps over pairs of axes.

The page is deterministic (fixed div ids, no timestamps): the same dataset gives the same file.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from gigawatt.report.compare import comparison_figure
from gigawatt.report.html import PLOTLY_FILE, Section, plotly_js_bytes, plotly_script, section_html
from gigawatt.sweep.dataset import read_dataset
from gigawatt.sweep.folder import REPORT, write_atomic
from gigawatt.sweep.spec import Sweep

# (column, label, better): objectives of the Pareto front, where the dataset has them.
OBJECTIVES = (
    ("throughput_tokens_per_s", "output tokens/s", "max"),
    ("facility_mw_peak", "facility peak (MW)", "min"),
    ("ttft_p99_s", "p99 TTFT (s)", "min"),
)
# Metrics the heatmaps can show (a menu switches between them).
HEATMAP_METRICS = (
    ("throughput_tokens_per_s", "output tokens/s"),
    ("facility_mw_peak", "facility peak (MW)"),
    ("pue", "PUE"),
    ("ttft_p99_s", "p99 TTFT (s)"),
    ("energy_j_per_token", "energy per token (J)"),
    ("throttle_power", "GPU-time power-throttled"),
    ("throttle_thermal", "GPU-time thermally throttled"),
)
MAX_PAIRS = 6
MAX_COMPARED_POINTS = 24  # up to this many finished points also get bar panels side by side
# The points side by side: the same bar panels as a scenario's variants (gigawatt.report.compare).
COMPARED_POINTS = (
    ("throughput_tokens_per_s", "tok/s", "higher is better"),
    ("energy_j_per_token", "J/tok", "lower is better"),
    ("facility_mw_peak", "peak MW", "facility"),
    ("max_gpu_temp_c", "max °C", "lower is better"),
    ("throttle_thermal", "thermal", "share of GPU-time thermally throttled"),
    ("throttle_power", "power", "share of GPU-time power-throttled"),
    ("errors", "errors", "shutdowns and resets"),
)
MAX_CATEGORIES = 12  # an axis with more distinct values is binned
BINS = 8
TABLE_ROWS = 200


def pareto_mask(values: np.ndarray, better: list[str]) -> np.ndarray:
    """Points no other point dominates (at least as good in every objective, better in one); rows with a
    missing (NaN) objective are never on the front."""
    signed = np.where(np.array(better) == "max", -1.0, 1.0) * values  # all objectives: lower is better
    ok = ~np.isnan(signed).any(axis=1)
    front = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(ok):
        others = signed[ok]
        dominated = ((others <= signed[i]).all(axis=1) & (others < signed[i]).any(axis=1)).any()
        front[i] = not dominated
    return front


def _column(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return np.array([np.nan if v is None else float(v) for v in table.column(name).to_pylist()])


def pareto_section(table: pa.Table, axes: list[str]) -> Section | None:
    objectives = [o for o in OBJECTIVES if not np.isnan(_column(table, o[0])).all()]
    if len(objectives) < 2:
        return None
    values = np.stack([_column(table, c) for c, _, _ in objectives], axis=1)
    front = pareto_mask(values, [b for _, _, b in objectives])
    x, y = values[:, 1], values[:, 0]  # facility peak across, tokens/s up
    hover = [
        "<br>".join(f"{a} = {table.column(a)[i].as_py()}" for a in axes)
        + f"<br>point {table.column('point')[i]}"
        for i in range(table.num_rows)
    ]
    colour: dict[str, Any] = {}
    if len(objectives) > 2:
        colour = {"color": values[:, 2], "colorscale": "Viridis", "colorbar": {"title": objectives[2][1]}}
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            name="points",
            text=hover,
            hoverinfo="text+x+y",
            marker={"size": 7, "opacity": 0.6, **colour},
        )
    )
    order = np.flatnonzero(front)[np.argsort(x[front])]
    fig.add_trace(
        go.Scatter(
            x=x[order],
            y=y[order],
            mode="markers+lines",
            name="Pareto front",
            text=[hover[i] for i in order],
            hoverinfo="text+x+y",
            marker={"size": 11, "symbol": "diamond-open", "color": "crimson"},
            line={"color": "crimson", "dash": "dot"},
        )
    )
    fig.update_layout(
        xaxis_title=objectives[1][1],
        yaxis_title=objectives[0][1],
        height=520,
        margin={"t": 30},
        legend={"orientation": "h"},
    )
    names = " vs ".join(
        f"{label} ({'higher' if b == 'max' else 'lower'} is better)" for _, label, b in objectives
    )
    return Section(
        "Pareto front",
        fig,
        f"{int(front.sum())} of {int((~np.isnan(values).any(axis=1)).sum())} points are on the front of "
        f"{names}: "
        "no other point is at least as good in all of them. Look for the knee where more tokens/s starts to "
        "cost much more facility power.",
    )


def _levels(values: list[Any]) -> tuple[list[str], list[int]]:
    """Category labels of an axis and each row's category: distinct values, or equal-width bins."""
    present = [v for v in values if v is not None]
    distinct = sorted(set(present), key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if len(distinct) <= MAX_CATEGORIES or not numeric:
        labels = [str(v) for v in distinct]
        return labels, [distinct.index(v) if v is not None else -1 for v in values]
    lo, hi = float(min(present)), float(max(present))
    edges = np.linspace(lo, hi, BINS + 1)
    labels = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(BINS)]
    idx = [-1 if v is None else min(int((float(v) - lo) / (hi - lo) * BINS), BINS - 1) for v in values]
    return labels, idx


def heatmap_section(table: pa.Table, a: str, b: str, units: dict[str, str | None]) -> Section | None:
    xs, xi = _levels(table.column(a).to_pylist())
    ys, yi = _levels(table.column(b).to_pylist())
    metrics = [(c, label) for c, label in HEATMAP_METRICS if not np.isnan(_column(table, c)).all()]
    if not metrics:
        return None
    grids = []
    for column, _ in metrics:
        v = _column(table, column)
        total, count = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
        for k in range(table.num_rows):
            if xi[k] >= 0 and yi[k] >= 0 and not np.isnan(v[k]):
                total[yi[k], xi[k]] += v[k]
                count[yi[k], xi[k]] += 1
        with np.errstate(invalid="ignore"):
            grids.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
    fig = go.Figure(
        go.Heatmap(
            z=grids[0],
            x=xs,
            y=ys,
            colorscale="Viridis",
            colorbar={"title": metrics[0][1]},
            hovertemplate=f"{a}=%{{x}}<br>{b}=%{{y}}<br>mean=%{{z:.4g}}<extra></extra>",
        )
    )
    buttons = [
        {"label": label, "method": "restyle", "args": [{"z": [g.tolist()], "colorbar.title.text": label}]}
        for g, (_, label) in zip(grids, metrics, strict=True)
    ]
    fig.update_layout(
        xaxis_title=a + (f" ({units[a]})" if units.get(a) else ""),
        yaxis_title=b + (f" ({units[b]})" if units.get(b) else ""),
        xaxis={"type": "category"},
        yaxis={"type": "category"},
        height=480,
        margin={"t": 60},
        updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.15, "yanchor": "top"}],
    )
    return Section(
        f"{b} × {a}",
        fig,
        "Mean of each cell's points (binned where an axis has many values); the "
        "menu switches the metric. Look for the edge where a metric turns.",
    )


def line_section(table: pa.Table, a: str, units: dict[str, str | None]) -> Section | None:
    """A single-axis sweep: each metric against the axis."""
    x = table.column(a).to_pylist()
    fig = go.Figure()
    for column, label in HEATMAP_METRICS:
        y = _column(table, column)
        if not np.isnan(y).all():
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="markers+lines",
                    name=label,
                    visible=column == HEATMAP_METRICS[0][0] or "legendonly",
                )
            )
    fig.update_layout(
        xaxis_title=a + (f" ({units[a]})" if units.get(a) else ""), height=460, margin={"t": 30}
    )
    return Section(f"Metrics against {a}", fig, "Click a legend entry to show another metric.")


def points_section(table: pa.Table) -> Section | None:
    """The finished points side by side, as a scenario's variants are compared."""
    if not 2 <= table.num_rows <= MAX_COMPARED_POINTS:
        return None
    keys = [k for k, _, _ in COMPARED_POINTS if k in table.column_names]
    rows = [{"label": r.pop("point"), **r} for r in table.select(["point", *keys]).to_pylist()]
    metrics = [m for m in COMPARED_POINTS if m[0] in keys and any(r[m[0]] is not None for r in rows)]
    if not metrics:
        return None
    figure = comparison_figure(rows, metrics, shares={"throttle_thermal", "throttle_power"})
    return Section("Points side by side", figure, "Each bar is one point of the sweep (the table below "
                   "gives its axis values).")


def render(table: pa.Table, sweep: Sweep) -> str:
    axes = [a.path for a in sweep.axes]
    ok = table.filter(pc.equal(table.column("status"), "ok")) if table.num_rows else table
    sections: list[Section] = []
    if ok.num_rows:
        pareto = pareto_section(ok, axes)
        sections += [pareto] if pareto else []
        if len(axes) == 1:
            line = line_section(ok, axes[0], sweep.units)
            sections += [line] if line else []
        for a, b in list(itertools.combinations(axes, 2))[:MAX_PAIRS]:
            heat = heatmap_section(ok, a, b, sweep.units)
            sections += [heat] if heat else []
        compared = points_section(ok)
        sections += [compared] if compared else []
    charts = "\n".join(section_html(s, f"gw-sweep-{i}") for i, s in enumerate(sections))
    failed = table.num_rows - ok.num_rows
    how = sweep.combine + (f", sampling seed {sweep.seed}" if sweep.combine in ("random", "lhs") else "")
    facts = [
        ("Base scenario", str(sweep.scenario_path)),
        ("Axes", ", ".join(f"{a}" + (f" ({sweep.units[a]})" if sweep.units.get(a) else "") for a in axes)),
        ("Combination", how),
        ("Points", f"{table.num_rows} of {len(sweep.points)} finished ({failed} failed)"),
    ]
    return PAGE.format(
        plotly=plotly_script(PLOTLY_FILE),
        name=html.escape(sweep.name),
        description=html.escape(sweep.description),
        facts="\n".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts),
        charts=charts or "<p>No finished points to chart yet.</p>",
        table=_table(table, axes),
    )


def _table(table: pa.Table, axes: list[str]) -> str:
    if not table.num_rows:
        return ""
    columns = [
        "point",
        "status",
        *axes,
        "throughput_tokens_per_s",
        "facility_mw_peak",
        "pue",
        "ttft_p99_s",
        "throttle_power",
        "throttle_thermal",
        "errors",
        "results",
    ]
    columns = [c for c in columns if c in table.column_names]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for r in table.slice(0, TABLE_ROWS).select(columns).to_pylist():
        cells = []
        for c in columns:
            v = r[c]
            text = "—" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<h2>Points (first {min(TABLE_ROWS, table.num_rows)} of {table.num_rows})</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def write_sweep_report(folder: Path, sweep: Sweep) -> Path:
    path = folder / REPORT
    if not (folder / PLOTLY_FILE).is_file():  # the sweep's prepare writes it before the first point
        write_atomic(folder / PLOTLY_FILE, plotly_js_bytes())
    write_atomic(path, render(read_dataset(folder), sweep).encode())
    return path


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gigawatt sweep: {name}</title>
{plotly}
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .2em 1.5em; }}
dt {{ font-weight: 600; }} .caption {{ color: #555; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #ddd; padding: 2px 6px; }}
</style></head><body>
<h1>Sweep {name}</h1>
<p>{description}</p>
<dl>
{facts}
</dl>
{charts}
{table}
</body></html>
"""
