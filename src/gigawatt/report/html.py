"""report.html: one page with the run's summary, charts and events.

plotly.js is loaded from one `plotly.min.js` beside the reports at the results folder's root (a relative
reference, so the folder can be moved or served as files), or inlined for a self-contained page. The page
is deterministic — fixed div ids, no timestamps — so the same results give a byte-identical file.
"""

from __future__ import annotations

import html
import json
import pathlib
from collections.abc import Sequence
from string import Template
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import pyarrow.compute as pc
from plotly.offline import get_plotlyjs

from gigawatt.report.figures import (
    clocks_figure,
    power_figure,
    temperature_figure,
    throughput_figure,
    time_axis,
)
from gigawatt.report.series import ROUTINE_EVENTS, facility_series, fault_marks, fleet_series
from gigawatt.results_folder import PLOTLY_FILE
from gigawatt.summary import headline

EVENT_ROWS = 200
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}


def write_plotly_js(folder: pathlib.Path) -> pathlib.Path:
    """Write the shared plotly.js into `folder`; reports reference it by a relative path."""
    path = pathlib.Path(folder) / PLOTLY_FILE
    path.write_text(get_plotlyjs(), encoding="utf-8")
    return path


def plotly_js_bytes() -> bytes:
    return get_plotlyjs().encode()


def plotly_script(src: str | None) -> str:
    """The page's plotly.js: a reference to the shared file at `src` (relative), or None to inline it."""
    if src is None:
        return f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return f'<script src="{html.escape(src)}" charset="utf-8"></script>'


class Section(NamedTuple):
    """A chart with its heading and a one-line caption saying what to look for."""

    title: str
    figure: go.Figure
    caption: str = ""


# (label, summary keys — dotted for nested —, unit). "%" turns fractions into percent.
HEADLINES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Seed", ("seed",), ""),
    ("Duration", ("duration_s",), " s"),
    ("GPUs", ("gpus",), ""),
    ("GPU model", ("gpu_model",), ""),
    ("Model", ("model",), ""),
    ("Tensor parallel / replicas", ("tensor_parallel", "replicas"), ""),
    ("Throughput / demand", ("throughput_tokens_per_s", "demand_tokens_per_s"), " tokens/s"),
    ("Energy per token", ("energy_j_per_token",), " J"),
    ("GPU power mean / max", ("gpu_power_w.mean", "gpu_power_w.max"), " W"),
    ("IT power mean / max", ("it_power_kw.mean", "it_power_kw.max"), " kW"),
    ("Facility power mean / max", ("facility_power_kw.mean", "facility_power_kw.max"), " kW"),
    ("PUE", ("pue",), ""),
    ("Hottest GPU die", ("max_gpu_temp_c",), " °C"),
    (
        "GPU-time throttled: power / thermal / power brake",
        ("throttle_fraction.power", "throttle_fraction.thermal", "throttle_fraction.power_brake"),
        "%",
    ),
    ("Errors", ("errors",), ""),
    ("GPU power limit", ("limits.gpu_power_limit_w",), " W"),
    ("Rack budget", ("limits.rack_budget_kw",), " kW"),
    (
        "Die limits: max operating / slowdown / shutdown",
        ("limits.temp_max_operating_c", "limits.temp_slowdown_c", "limits.temp_shutdown_c"),
        " °C",
    ),
)

CAPTIONS = {
    "power": "Look for the hottest rack touching its budget (power caps engage there) and the gap between "
    "facility and IT power — cooling and UPS overhead, i.e. PUE. Dash-dot lines mark faults.",
    "temperature": "Look for the hottest dies reaching the max-operating line (thermal throttling starts) "
    "or the slowdown and shutdown lines, and for supply temperatures rising before they do.",
    "clocks": "Look for dips in the SM clock and the reason beside them: SwPowerCap is the power limit, "
    "thermal reasons point at cooling, HwPowerBrakeSlowdown at a lost power feed; a clock of 0 is "
    "a GPU that is down.",
    "throughput": "Look for output falling below demand — the shortfall piles up as backlog (grey, right "
    "axis) — and whether it lines up with a fault marker.",
}

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gigawatt — $scenario</title>
$plotly
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1280px;
       padding: 1.5rem 2rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.description { color: #555; margin-top: 0; }
.chain { background: #fff4e5; border-left: 4px solid #ff7f0e; padding: 0.6rem 1rem; font-size: 1.1rem; }
.headline { display: grid; grid-template-columns: repeat(2, max-content minmax(0, 1fr)); gap: 0.25rem 1rem;
            margin: 1rem 0; }
.headline dt { color: #555; }
.headline dd { margin: 0; font-variant-numeric: tabular-nums; }
.caption { color: #555; margin: 0.2rem 0 0.5rem; }
table.events { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
table.events th, table.events td { border-bottom: 1px solid #eee; padding: 0.15rem 0.8rem 0.15rem 0;
                                   text-align: left; }
table.events td.num { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: 0.8rem 0; }
summary { cursor: pointer; color: #1f77b4; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
</style>
</head>
<body>
<h1>$scenario</h1>
<p class="description">$description</p>
$chain
<dl class="headline">
$headline
</dl>
$charts
<h2>Events</h2>
$events
<details><summary>Every summary field (summary.json)</summary><pre>$summary_json</pre></details>
</body>
</html>
""")


def write_report(
    path: pathlib.Path,
    summary: dict,
    timeseries: pa.Table,
    facility: pa.Table,
    events: pa.Table,
    extra_sections: Sequence[Section | tuple[str, go.Figure]] = (),
    plotly_src: str | None = None,
) -> None:
    """Write report.html for one run; `extra_sections` are appended after the built-in charts;
    `plotly_src` is the shared plotly.js relative to the page (None: inline it)."""
    pathlib.Path(path).write_text(
        render_report(summary, timeseries, facility, events, extra_sections, plotly_src), encoding="utf-8"
    )


def render_report(
    summary: dict,
    timeseries: pa.Table,
    facility: pa.Table,
    events: pa.Table,
    extra_sections: Sequence[Section | tuple[str, go.Figure]] = (),
    plotly_src: str | None = None,
) -> str:
    sections = [
        *builtin_sections(summary, timeseries, facility, events),
        *(Section(*extra) for extra in extra_sections),
    ]
    return PAGE.substitute(
        scenario=_text(summary.get("scenario", "gigawatt run")),
        plotly=plotly_script(plotly_src),
        description=_text(summary.get("description", "")),
        chain=f'<p class="chain">{_text(summary["chain"])}</p>' if summary.get("chain") else "",
        headline="\n".join(
            f"<dt>{_text(label)}</dt><dd>{_text(value)}</dd>" for label, value in headline_rows(summary)
        ),
        charts="\n".join(section_html(s, f"gw-chart-{i}") for i, s in enumerate(sections)),
        events=events_html(events),
        summary_json=_text(json.dumps(summary, indent=2, sort_keys=True, default=str)),
    )


def builtin_sections(
    summary: dict, timeseries: pa.Table, facility: pa.Table, events: pa.Table
) -> list[Section]:
    duration_s = float(summary.get("duration_s") or pc.max(facility.column("time_s")).as_py() or 0.0)
    axis = time_axis(duration_s)
    fac = facility_series(facility)
    fleet = fleet_series(timeseries)
    marks = fault_marks(events, duration_s)
    return [
        Section("Power vs budget", power_figure(fac, marks, axis), CAPTIONS["power"]),
        Section(
            "Temperatures vs limits",
            temperature_figure(fleet, fac, summary.get("limits", {}), axis),
            CAPTIONS["temperature"],
        ),
        Section("Clocks and throttle reasons", clocks_figure(fleet, axis), CAPTIONS["clocks"]),
        Section("Throughput vs demand", throughput_figure(fac, marks, axis), CAPTIONS["throughput"]),
    ]


def headline_rows(summary: dict) -> list[tuple[str, str]]:
    """The headline metrics present in `summary`, formatted with units; a missing rack budget reads 'none'."""
    rows = []
    for label, keys, unit in HEADLINES:
        values = [_lookup(summary, key) for key in keys]
        if all(v is _MISSING for v in values):
            continue
        if unit == "%":
            rows.append((label, " / ".join(_format_percent(v) for v in values)))
        elif values == [None]:
            rows.append((label, "none"))
        else:
            rows.append((label, " / ".join(_format(v) for v in values) + unit))
    return rows


def events_html(events: pa.Table) -> str:
    if events.num_rows == 0:
        return "<p>No events were recorded.</p>"
    events = events.take(pc.sort_indices(events, [("time_s", "ascending")]))  # stable: ties keep engine order
    faults = events.filter(pc.invert(pc.is_in(events.column("kind"), pa.array(ROUTINE_EVENTS))))
    shown = min(EVENT_ROWS, faults.num_rows)
    return "\n".join(
        [
            '<p class="caption">Counts by kind, then the first faults and facility events; '
            "throttle start/stop and recoveries are in the full list below.</p>",
            _table_html(event_counts(events)),
            f"<h3>Faults and facility events (first {shown} of {faults.num_rows:,})</h3>",
            _table_html(faults.slice(0, EVENT_ROWS)) if faults.num_rows else "<p>None.</p>",
            f"<details><summary>All events (first {min(EVENT_ROWS, events.num_rows)} of {events.num_rows:,})"
            f"</summary>{_table_html(events.slice(0, EVENT_ROWS))}</details>",
        ]
    )


def event_counts(events: pa.Table) -> pa.Table:
    """Events per kind with the first and last time each happened, most frequent first."""
    counts = events.group_by("kind").aggregate([("kind", "count"), ("time_s", "min"), ("time_s", "max")])
    counts = counts.select(["kind", "kind_count", "time_s_min", "time_s_max"])
    counts = counts.rename_columns(["kind", "count", "first time_s", "last time_s"])
    return counts.sort_by([("count", "descending"), ("kind", "ascending")])


def section_html(section: Section, div_id: str) -> str:
    """A chart with its heading and caption; plotly.js comes from the page's head."""
    figure = pio.to_html(
        section.figure,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config=PLOTLY_CONFIG,
    )
    caption = f'<p class="caption">{_text(section.caption)}</p>' if section.caption else ""
    return f"<h2>{_text(section.title)}</h2>\n{caption}\n{figure}"


def _table_html(table: pa.Table) -> str:
    header = "".join(f"<th>{_text(name)}</th>" for name in table.column_names)
    body = "\n".join(
        "<tr>" + "".join(_cell_html(value) for value in row.values()) + "</tr>" for row in table.to_pylist()
    )
    return f'<table class="events"><thead><tr>{header}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _cell_html(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{_text(value)}</td>"
    number = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"  # one decimal: times line up
    return f'<td class="num">{number}</td>'


_MISSING = object()


def _lookup(summary: dict, dotted: str) -> Any:
    return headline(summary, dotted, missing=_MISSING)


def _format(value: Any) -> str:
    if value is _MISSING or value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return str(value) if not isinstance(value, dict) else ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if not np.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10 or value == 0:
        return f"{value:.1f}"
    return f"{value:#.3g}".rstrip(".")  # three significant digits, kept: 1.00 J, not 1 J


def _format_percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "—"


def _text(value: Any) -> str:
    return html.escape(str(value))
