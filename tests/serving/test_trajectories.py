"""The replica reproduces trajectories recorded before its hot paths were rewritten, bit for bit: every
tick's work, every request's admission, first-token and finish time, and the replica's statistics."""

import json

import pytest

from .golden_cases import _model
from .trajectory_cases import CASES, FIXTURE, run_case


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_unchanged(name: str, recorded: dict) -> None:
    got = json.loads(json.dumps(run_case(name, _model())))  # the fixture's own float round trip
    want = recorded[name]
    assert got["iterations"] == want["iterations"]
    for k, (g, w) in enumerate(zip(got["ticks"], want["ticks"], strict=True)):
        assert g == w, (name, "tick", k + 1, g, w)
    for field, values in want["records"].items():
        assert got["records"][field] == values, (name, field)
    assert got["stats"] == want["stats"]
    assert got["now"] == want["now"]


def test_cases_exercise_every_path(recorded: dict) -> None:
    """The pinned cases preempt by both policies, spill to SSD, fail and restart, and finish requests."""
    stats = {name: case["stats"] for name, case in recorded.items()}
    assert stats["chunked-recompute"]["preemptions"] > 0 and stats["whole-offload"]["preemptions"] > 0
    assert stats["offload-to-ssd"]["bytes_moved"]["dram_to_ssd"] > 0
    assert all(s["failures"] == 1 and s["recomputed_tokens"] >= 0 for s in stats.values())
    assert all(sum(t == t for t in case["records"]["finish_s"]) > 40 for case in recorded.values())
