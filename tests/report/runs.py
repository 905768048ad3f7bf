"""Short runs of the shipped examples through `gigawatt run`, for checks of the reports they write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from gigawatt.cli import app
from helpers import example_dict, with_changes

# Each example cut to a few minutes (past its first scheduled event, where it has one) and to at most
# two variants: the reports' charts are the same, drawn over a shorter time.
SHORT: dict[str, dict[str, Any]] = {
    "balanced": {"duration": "2 min"},
    "cooling-starved": {
        "duration": "6 min",
        "cooling.liquid.cdu.capacity": "3 kW",  # shutdowns within minutes rather than an hour
        "cooling.liquid.cdu.loop_heat_capacity": "50 kJ/K",
    },
    "serving-llama70b-h100": {"duration": "2 min"},
    "moe-deepseek-v3": {"duration": "6 min"},
    "training-straggler": {"duration": "6 min"},
}


def short_run(name: str, out: Path, *options: str, variants: int = 2) -> Path:
    """Run the example `name`, shortened, into `out`; the results folder."""
    data = with_changes(example_dict(name), **SHORT.get(name, {"duration": "2 min"}))
    if "variants" in data:
        data["variants"] = data["variants"][: variants - 1]
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return out
