"""Step time over the run for training: one marker per finished step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from gigawatt.report.figures import time_axis
from gigawatt.report.html import Section

SVG_MARKERS = 5_000


def step_time_section(steps: pa.Table, unthrottled_s: float, duration_s: float) -> Section:
    end = np.asarray(steps.column("end_s"), dtype=float)
    length = np.asarray(steps.column("step_s"), dtype=float)
    axis = time_axis(duration_s)
    fig = go.Figure()
    # SVG draws in every browser; WebGL only where the page gets a GPU context, so only for many steps.
    trace = go.Scatter if len(end) <= SVG_MARKERS else go.Scattergl
    fig.add_trace(trace(x=axis(end), y=length, mode="markers", name="step time (s)", marker={"size": 4}))
    fig.add_hline(y=unthrottled_s, line={"dash": "dot", "color": "#2ca02c"},
                  annotation_text="unthrottled", annotation_position="top left")
    fig.update_xaxes(title_text=axis.title)
    fig.update_yaxes(title_text="seconds per step", rangemode="tozero")
    fig.update_layout(height=360, template="plotly_white", margin={"t": 30, "b": 40, "l": 60, "r": 20})
    return Section(
        "Step time",
        fig,
        "Every step waits for the job's slowest GPU: look for steps stretching when one GPU throttles, "
        "and for the gap to the unthrottled step that power capping leaves.",
    )
