"""The Grafana dashboard reads only metrics a run exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client", reason="live metrics need prometheus-client: pip install .[metrics]")

from gigawatt.engine import Engine
from gigawatt.metrics.mapping import families, layout_for
from gigawatt.telemetry import Snapshot
from helpers import scenario

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "gigawatt.json"


def _exported(sc_name: str, **changes: str) -> set[str]:
    sc = scenario(sc_name, duration="2 min", **{"recording.interval": "1 min"}, **changes)
    seen: list[Snapshot] = []
    Engine(sc).run(observe=seen.append)
    per_gpu = families(seen[-1], layout_for(sc))
    per_node = families(seen[-1], layout_for(sc, max_gpu_series=0))
    return {m.name for m in per_gpu + per_node}


def test_every_dashboard_query_names_an_exported_metric():
    exported = _exported("balanced") | _exported("diurnal") | _exported("campus-halls")
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs.append(board["templating"]["list"][1]["definition"])
    used = {name for e in exprs for name in re.findall(r"\b(?:DCGM_FI_\w+|gigawatt_\w+)", e)}
    assert used, "the dashboard queries nothing"
    assert used <= exported, sorted(used - exported)
    # The panels the dashboard promises.
    titles = " | ".join(p["title"] for p in board["panels"])
    for what in (
        "Facility power",
        "PUE",
        "GPU power",
        "GPU temperature",
        "SM clock",
        "Throttle",
        "Tokens/s",
        "Coolant",
        "Hall power",
    ):
        assert what in titles
