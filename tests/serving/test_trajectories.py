"""The replica reproduces trajectories recorded before its hot paths were rewritten, bit for bit: every
tick's work, every request's admission, first-token and finish time, and the replica's statistics.

Bit for bit where NumPy's power is the C library's pow, as on the machine that recorded them; where a
NumPy build has a vector pow of its own (e.g. SVML on AVX-512) the last bits of the soft maximum differ,
so the times are compared to 1e-9 there (any change of logic moves them by far more)."""

import json
import math
from typing import Any

import pytest

from gigawatt.workload.serving.iteration import numpy_power_is_pow

from .golden_cases import _model
from .trajectory_cases import CASES, FIXTURE, run_case


def _exact() -> bool:
    p = _model()._overlap_p
    return math.isinf(p) or (numpy_power_is_pow(p) and numpy_power_is_pow(1.0 / p))


def _same(got: Any, want: Any, exact: bool) -> bool:
    if exact or isinstance(want, str | bool) or want is None:
        return got == want
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k], exact) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(_same(g, w, exact) for g, w in zip(got, want, strict=True))
    if isinstance(want, int):
        return got == want
    return (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_unchanged(name: str, recorded: dict) -> None:
    got = json.loads(json.dumps(run_case(name, _model())))  # the fixture's own float round trip
    want, exact = recorded[name], _exact()
    assert got["iterations"] == want["iterations"]
    for k, (g, w) in enumerate(zip(got["ticks"], want["ticks"], strict=True)):
        assert _same(g, w, exact), (name, "tick", k + 1, g, w)
    for field, values in want["records"].items():
        assert _same(got["records"][field], values, exact), (name, field)
    assert _same(got["stats"], want["stats"], exact)
    assert _same(got["now"], want["now"], exact)


def test_cases_exercise_every_path(recorded: dict) -> None:
    """The pinned cases preempt by both policies, spill to SSD, fail and restart, and finish requests."""
    stats = {name: case["stats"] for name, case in recorded.items()}
    assert stats["chunked-recompute"]["preemptions"] > 0 and stats["whole-offload"]["preemptions"] > 0
    assert stats["offload-to-ssd"]["bytes_moved"]["dram_to_ssd"] > 0
    assert all(s["failures"] == 1 and s["recomputed_tokens"] >= 0 for s in stats.values())
    assert all(sum(t == t for t in case["records"]["finish_s"]) > 40 for case in recorded.values())
