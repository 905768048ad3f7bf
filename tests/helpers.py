"""Test helpers: scenarios derived from the shipped examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from gigawatt.scenario import Scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_dict(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def with_changes(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Copy of a scenario dict with dotted-path changes: with_changes(d, **{"power.rack_budget": "20 kW"})."""
    out = copy.deepcopy(data)
    for path, value in changes.items():
        node = out
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def scenario(name: str = "balanced", **changes: Any) -> Scenario:
    return Scenario.model_validate(with_changes(example_dict(name), **changes))
