import json

import pytest
from typer.testing import CliRunner

from gigawatt.moe.cli import app

from .test_placement import EPLB_LOADS, EPLB_PHY2LOG

SIZES = ["--replicas", "16", "--groups", "4", "--nodes", "2", "--gpus", "8"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_place_prints_the_eplb_example(runner: CliRunner, tmp_path) -> None:
    weights = tmp_path / "loads.json"
    weights.write_text(json.dumps(EPLB_LOADS))
    result = runner.invoke(app, ["place", "--weights", str(weights), *SIZES])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["phy2log"] == EPLB_PHY2LOG
    assert [sum(row) for row in out["logcnt"]] == [16, 16]
    assert len(out["max_over_mean"]) == 2 and min(out["max_over_mean"]) >= 1.0


@pytest.mark.parametrize("policy", ["global", "locality"])
def test_place_other_policies(runner: CliRunner, tmp_path, policy: str) -> None:
    weights = tmp_path / "loads.json"
    weights.write_text(json.dumps(EPLB_LOADS))
    result = runner.invoke(app, ["place", "--weights", str(weights), *SIZES, "--policy", policy])
    assert result.exit_code == 0, result.output
    assert (
        sorted(json.loads(result.stdout)["phy2log"][0]) == sorted(EPLB_PHY2LOG[0]) or policy != "hierarchical"
    )


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, SIZES, "no such file"),
        ("{not json", SIZES, "not valid JSON"),
        ('{"a": 1}', SIZES, "list of per-layer lists"),
        ("[[1, 2, 3], [1, 2]]", SIZES, "ragged"),
        ("[[1, -2, 3, 4]]", SIZES, "non-negative"),
        ('[[1, "x", 3, 4]]', SIZES, "non-negative"),
        (
            json.dumps(EPLB_LOADS),
            ["--replicas", "15", "--groups", "4", "--nodes", "2", "--gpus", "8"],
            "gpus",
        ),
        (
            json.dumps(EPLB_LOADS),
            ["--replicas", "16", "--groups", "4", "--nodes", "3", "--gpus", "8"],
            "nodes",
        ),
        (
            json.dumps(EPLB_LOADS),
            ["--replicas", "16", "--groups", "5", "--nodes", "1", "--gpus", "8"],
            "groups",
        ),
        (
            json.dumps(EPLB_LOADS),
            ["--replicas", "16", "--groups", "6", "--nodes", "4", "--gpus", "8"],
            "nodes",
        ),
        (json.dumps(EPLB_LOADS), [*SIZES, "--policy", "best"], "hierarchical, global, locality"),
        (json.dumps(EPLB_LOADS), [*SIZES, "--policy", "locality", "--locality", "2"], "--locality"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path, content, options, message: str
) -> None:
    weights = tmp_path / "loads.json"
    if content is not None:
        weights.write_text(content)
    result = runner.invoke(app, ["place", "--weights", str(weights), *options])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output
    if content is not None and message in ("not valid JSON", "ragged", "non-negative"):
        assert str(weights) in lines[0]
