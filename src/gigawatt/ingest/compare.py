"""`gigawatt compare`: a run's telemetry overlaid on measured telemetry, with error statistics.

Both tables are reduced to one series per metric: per GPU when both name the same GPUs by index
(a run of the logged machine), otherwise the fleet (mean power and clock, hottest die) per time. The run's
series is interpolated onto the measured times inside the run's span (after shifting the measured time
axis by `offset_s`); error = run − measured at those times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
from plotly.subplots import make_subplots

from gigawatt.ingest.table import IngestError
from gigawatt.telemetry import GPU_TEMP, POWER, SM_CLOCK

# (column, label, unit, fleet reduction): the twin's own reductions (gigawatt.telemetry.Recorder)
METRICS = (
    (POWER, "GPU power", "W", "mean"),
    (GPU_TEMP, "GPU temperature", "°C", "max"),
    (SM_CLOCK, "SM clock", "MHz", "mean"),
)


@dataclass(frozen=True)
class MetricError:
    column: str
    label: str
    unit: str
    points: int
    bias: float  # mean of run − measured
    mdape: float  # median |run / measured − 1|
    rmse: float


@dataclass(frozen=True)
class Series:
    key: str  # "fleet" or "gpu <i>"
    time_s: np.ndarray
    run: np.ndarray
    measured: np.ndarray


def _array(table: pa.Table, column: str) -> np.ndarray:
    return table.column(column).to_numpy(zero_copy_only=False).astype(float)


def _reduce(table: pa.Table, column: str, how: str, by_gpu: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """key -> (times, values), NaN rows dropped, one value per time."""
    t, v = _array(table, "time_s"), _array(table, column)
    keys = _array(table, "gpu").astype(int) if by_gpu else np.zeros(len(t), dtype=int)
    out = {}
    for k in np.unique(keys):
        sel = (keys == k) & np.isfinite(v)
        times, inverse = np.unique(t[sel], return_inverse=True)
        vals = v[sel]
        if how == "max":
            red = np.full(len(times), -np.inf)
            np.maximum.at(red, inverse, vals)
        else:
            red = np.bincount(inverse, vals, len(times)) / np.bincount(inverse, minlength=len(times))
        out[f"gpu {k}" if by_gpu else "fleet"] = (times, red)
    return out


def _per_gpu(run: pa.Table, measured: pa.Table) -> bool:
    if "gpu" not in run.column_names or "gpu" not in measured.column_names:
        return False
    t, g = _array(measured, "time_s"), _array(measured, "gpu")
    if len(np.unique(np.column_stack([t, g]), axis=0)) < len(t):
        return False  # the same index at one time: device indices of several hosts
    ids_m = set(np.unique(_array(measured, "gpu")).tolist())
    return ids_m <= set(np.unique(_array(run, "gpu")).tolist())


def compare(
    run: pa.Table, measured: pa.Table, offset_s: float = 0.0
) -> tuple[list[MetricError], dict[str, list[Series]]]:
    by_gpu = _per_gpu(run, measured)
    shifted = measured.set_column(
        measured.column_names.index("time_s"), "time_s", pa.array(_array(measured, "time_s") + offset_s)
    )
    errors, series = [], {}
    for column, label, unit, how in METRICS:
        if column not in run.column_names or column not in measured.column_names:
            continue
        r, m = _reduce(run, column, how, by_gpu), _reduce(shifted, column, how, by_gpu)
        diffs, rel, lines = [], [], []
        for key, (tm, vm) in m.items():
            if key not in r or len(r[key][0]) == 0:
                continue
            tr, vr = r[key]
            inside = (tm >= tr[0]) & (tm <= tr[-1])
            pred = np.interp(tm[inside], tr, vr)
            diffs.append(pred - vm[inside])
            with np.errstate(divide="ignore", invalid="ignore"):
                rel.append(np.abs(pred / vm[inside] - 1.0))
            lines.append(Series(key, tm[inside], pred, vm[inside]))
        d = np.concatenate(diffs) if diffs else np.array([])
        e = np.concatenate(rel) if rel else np.array([])
        e = e[np.isfinite(e)]
        if len(d) == 0:
            continue
        errors.append(
            MetricError(
                column,
                label,
                unit,
                len(d),
                float(d.mean()),
                float(np.median(e)) if len(e) else float("nan"),
                float(np.sqrt((d * d).mean())),
            )
        )
        series[column] = lines
    if not errors:
        raise IngestError(
            "no overlap: the run and the telemetry share no metric (power, temperature, SM clock) at common "
            "times; shift the telemetry's time axis with --offset"
        )
    return errors, series


MAX_LINES = 8  # GPUs drawn per chart; the statistics use them all
_MEASURED = {"color": "#111111"}
_TWIN = {"color": "#ff7f0e", "dash": "dash"}


def overlay_html(errors: list[MetricError], series: dict[str, list[Series]], title: str) -> str:
    shown = [e for e in errors if e.column in series]
    fig = make_subplots(
        rows=len(shown),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[
            f"{e.label}: bias {e.bias:+.3g} {e.unit}, MdAPE {e.mdape:.1%}, RMSE {e.rmse:.3g} {e.unit}"
            for e in shown
        ],
    )
    for row, e in enumerate(shown, start=1):
        for i, s in enumerate(series[e.column][:MAX_LINES]):
            legend = row == 1 and i == 0  # one legend entry per kind of line
            for name, y, line in (("measured", s.measured, _MEASURED), ("twin", s.run, _TWIN)):
                trace = go.Scatter(x=s.time_s, y=y, name=name, legendgroup=name, showlegend=legend, line=line)
                fig.add_trace(trace, row=row, col=1)
        fig.update_yaxes(title_text=e.unit, row=row, col=1)
    fig.update_xaxes(title_text="time (s)", row=len(shown), col=1)
    fig.update_layout(
        title=title, height=300 * len(shown) + 120, template="plotly_white", hovermode="x unified"
    )
    return pio.to_html(fig, include_plotlyjs=True, full_html=True, div_id="compare-overlay")
