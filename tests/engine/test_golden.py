"""The engine's hot path reproduces summaries recorded before it was optimised (tests/golden.py).

The optimisations keep float64 and the arithmetic of every integral, so agreement is to a relative 1e-9
(reordered sums of float64 differ in the last bits only); strings and counts must match exactly.
"""

from __future__ import annotations

import json
import math

import pytest

from golden import CASES, FIXTURE, record

RTOL = 1e-9


def _compare(path: str, got, want, problems: list[str]) -> None:
    if isinstance(want, dict):
        if set(got) != set(want):
            problems.append(f"{path}: keys differ: {sorted(set(got) ^ set(want))}")
        for key in want.keys() & got.keys():
            _compare(f"{path}.{key}", got[key], want[key], problems)
    elif isinstance(want, list):
        if len(got) != len(want):
            problems.append(f"{path}: length {len(got)} != {len(want)}")
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            _compare(f"{path}[{i}]", g, w, problems)
    elif isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isnan(want) and math.isnan(got):
            return
        if not math.isclose(got, want, rel_tol=RTOL, abs_tol=1e-9):
            problems.append(f"{path}: {got!r} != {want!r}")
    elif got != want:
        problems.append(f"{path}: {got!r} != {want!r}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_summary_matches_golden(name):
    want = json.loads(FIXTURE.read_text())[name]
    got = json.loads(json.dumps(record(name)))
    problems: list[str] = []
    _compare(name, got, want, problems)
    assert not problems, "\n".join(problems[:20])


def test_comparison_detects_a_change():
    want = json.loads(FIXTURE.read_text())["balanced"]
    got = json.loads(json.dumps(want))
    got["summary"]["max_gpu_temp_c"] = want["summary"]["max_gpu_temp_c"] * (1 + 1e-6)
    problems: list[str] = []
    _compare("balanced", got, want, problems)
    assert problems
