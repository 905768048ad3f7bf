"""Latency over time for request-level serving: TTFT and TPOT percentiles by arrival time."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

from gigawatt.report.html import Section

MAX_BINS = 200


def latency_section(requests: pa.Table) -> Section:
    arrival = np.asarray(requests.column("arrival_s"), dtype=float)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, subplot_titles=["TTFT (s)", "TPOT (s)"], vertical_spacing=0.1
    )
    if arrival.size:
        edges = np.linspace(0.0, float(arrival.max()) + 1e-9, min(MAX_BINS, max(2, arrival.size // 20)) + 1)
        which = np.clip(np.searchsorted(edges, arrival, side="right") - 1, 0, len(edges) - 2)
        centers = (edges[:-1] + edges[1:]) / 2 / 60.0
        for row, name in ((1, "ttft_s"), (2, "tpot_s")):
            values = np.asarray(requests.column(name), dtype=float)
            for q, dash in ((50, "solid"), (99, "dot")):
                series = _binned_percentile(values, which, len(edges) - 1, q)
                fig.add_trace(
                    go.Scatter(
                        x=centers,
                        y=series,
                        mode="lines",
                        name=f"{name[:4].upper()} p{q}",
                        line={"dash": dash},
                    ),
                    row=row,
                    col=1,
                )
    fig.update_xaxes(title_text="arrival time (min)", row=2, col=1)
    fig.update_layout(height=560, template="plotly_white", margin={"t": 50, "b": 40, "l": 60, "r": 20})
    return Section(
        "Latency over time",
        fig,
        "Look for TTFT rising when clocks drop or replicas restart (queueing and prefill slow "
        "down), and TPOT following the decode step time.",
    )


def _binned_percentile(values: np.ndarray, which: np.ndarray, bins: int, q: float) -> np.ndarray:
    """Percentile of the finite values in each bin (NaN for empty bins), by sorting once."""
    ok = np.isfinite(values)
    order = np.lexsort((values[ok], which[ok]))
    v, b = values[ok][order], which[ok][order]
    starts = np.searchsorted(b, np.arange(bins))
    ends = np.searchsorted(b, np.arange(bins), side="right")
    counts = ends - starts
    pos = starts + np.floor((counts - 1) * q / 100.0).astype(np.int64)
    out = np.full(bins, np.nan)
    has = counts > 0
    out[has] = v[pos[has]]
    return out
