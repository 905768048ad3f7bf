"""A side-by-side chart of a scenario and its variants (router, placement, budget … choices)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gigawatt.report.html import Section
from gigawatt.summary import COMPARED


def comparison_section(rows: list[dict[str, Any]]) -> Section:
    shown = [(key, label, how) for key, label, how in COMPARED if any(r[key] is not None for r in rows)]
    cols = 3
    n_rows = -(-len(shown) // cols)
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=[f"{label} ({how})" for _, label, how in shown],
        vertical_spacing=0.12,
    )
    labels = [r["label"] for r in rows]
    for i, (key, label, _) in enumerate(shown):
        values = [r[key] if r[key] is not None else 0.0 for r in rows]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=label,
                showlegend=False,
                text=[f"{v:.3g}" for v in values],
                textposition="auto",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_layout(
        height=320 * n_rows, margin={"t": 60, "b": 40, "l": 50, "r": 20}, template="plotly_white"
    )
    return Section(
        "Variants side by side",
        fig,
        "Look for the variant that keeps tokens/s up and GPUs cooler; each variant changes only the "
        "fields listed in summary.json › variants.",
    )
