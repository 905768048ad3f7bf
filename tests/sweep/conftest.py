"""Sweep files over a tiny base scenario (one 8×H100 node, tens of simulated seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import EXAMPLES

BASE = EXAMPLES / "sweeps" / "tiny-serving.yaml"


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    """The example sweeps' base scenario, shortened to 20 s, in a folder of its own."""
    data = yaml.safe_load(BASE.read_text())
    data["duration"] = "20 s"
    path = tmp_path / "inputs" / "base.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def write_sweep(base_file: Path):
    """Write a sweep file beside the base scenario: write_sweep(axes={...}, combine=..., ...)."""

    def write(name: str = "s", text: str | None = None, **content: Any) -> Path:
        path = base_file.parent / f"{name}.yaml"
        if text is None:
            text = yaml.safe_dump(
                {"scenario": base_file.name, **content}, sort_keys=False, allow_unicode=True
            )
        path.write_text(text)
        return path

    return write
