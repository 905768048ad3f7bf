"""Small seeded scenarios whose summaries are pinned in golden_summaries.json (recorded before the engine's
hot path was optimised): the optimised engine must reproduce them (tests/engine/test_golden.py).

    PYTHONPATH=src:tests python tests/golden.py   # rewrite the fixture (only with a physical reason)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gigawatt.engine import Engine
from gigawatt.summary import summarize
from helpers import scenario

FIXTURE = Path(__file__).parent / "engine" / "golden_summaries.json"

AIR = {
    "cooling.kind": "air",
    "cooling.air.heat_sink_resistance": "0.06 K/W",
    "cooling.air.crah_capacity": "30 kW",
    "tick": "7 s",
    "recording.interval": "70 s",
}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "balanced": ("balanced", {}),
    "cooling-starved": ("cooling-starved", {"duration": "40 min"}),
    "cdu-pump-failure": ("cdu-pump-failure", {}),
    "power-starved-hvdc": ("power-starved", {"power.psu.curve": "hvdc-800v"}),
    "balanced-air": ("balanced", AIR),
    "diurnal": ("diurnal", {"duration": "3 h"}),
    "training-power-swing": ("training-power-swing", {"duration": "3 min"}),
    "serving-cdu-failure": ("serving-cdu-failure", {}),
}


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def record(name: str) -> dict[str, Any]:
    """The summary plus the recorded series' column sums (per-tick arithmetic reaches them all)."""
    base, changes = CASES[name]
    result = Engine(scenario(base, **changes)).run()
    columns = {}
    for table in (result.timeseries, result.facility):
        for col in table.column_names:
            values = np.asarray(table.column(col).to_numpy(zero_copy_only=False))
            if values.dtype.kind in "fiub":
                columns[col] = float(np.nansum(values.astype(float)))
    return {
        "summary": _plain(summarize(result)),
        "column_sums": columns,
        "events": len(result.events.kind),
        "facility_w_sum": float(result.facility_power_w.sum()),
    }


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps({name: record(name) for name in CASES}, indent=1, sort_keys=True) + "\n")
