import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gigawatt.moe import place
from gigawatt.moe.cli import MAX_BYTES, app, line_of
from safety.hangs import fifo_writer_after

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


@pytest.mark.parametrize("policy", ["hierarchical", "global", "locality"])
def test_place_other_policies(runner: CliRunner, tmp_path, policy: str) -> None:
    weights = tmp_path / "loads.json"
    weights.write_text(json.dumps(EPLB_LOADS))
    result = runner.invoke(app, ["place", "--weights", str(weights), *SIZES, "--policy", policy])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    expected = place(EPLB_LOADS, n_slots=16, n_groups=4, n_nodes=2, n_gpus=8, policy=policy)
    assert out["phy2log"] == expected.phy2log.tolist()
    assert out["log2phy"] == expected.log2phy.tolist()
    assert [sum(row) for row in out["logcnt"]] == [16, 16]


def test_place_falls_back_to_global_as_eplb_does(runner: CliRunner, tmp_path) -> None:
    weights = tmp_path / "loads.json"
    weights.write_text(json.dumps(EPLB_LOADS))
    sizes = ["--replicas", "16", "--groups", "3", "--nodes", "2", "--gpus", "8"]
    result = runner.invoke(app, ["place", "--weights", str(weights), *sizes])
    assert result.exit_code == 0, result.output
    expected = place(EPLB_LOADS, n_slots=16, n_groups=1, n_nodes=1, n_gpus=8, policy="hierarchical")
    assert json.loads(result.stdout)["phy2log"] == expected.phy2log.tolist()


LOADS = json.dumps(EPLB_LOADS)
MULTILINE = "[\n  [1, 2, 3, 4],\n  [5, 6,\n   -7, 8]\n]\n"


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, SIZES, "cannot read the weights file (No such file or directory)"),
        ("{not json", SIZES, "line 1: not valid JSON"),
        ("[[1, 2],\n [3, 4]\n]]", SIZES, "line 3: not valid JSON (Extra data)"),
        ('{"a": 1}', SIZES, "expected a non-empty JSON list of per-layer lists"),
        ("[]", SIZES, "expected a non-empty JSON list of per-layer lists"),
        ("[[1, 2, 3],\n [1, 2]]", SIZES, "line 2: layer 1 lists 2 experts, layer 0 lists 3"),
        ("[[1, 2],\n 7]", SIZES, "line 2: layer 1 is 7; expected"),
        (MULTILINE, SIZES, "line 4: layer 1 expert 2 is -7; loads must be numbers from 0"),
        ('[[1, "x", 3, 4]]', SIZES, "line 1: layer 0 expert 1 is 'x'"),
        ("[[1, 2, [3], 4]]", SIZES, "layer 0 expert 2 is [3]"),
        ("[[1, NaN, 3, 4]]", SIZES, "layer 0 expert 1 is nan"),
        ("[[1, Infinity, 3, 4]]", SIZES, "layer 0 expert 1 is inf"),
        ("[[1, 1e39, 3, 4]]", SIZES, "layer 0 expert 1 is 1e+39"),
        ("[[1, true, 3, 4]]", SIZES, "layer 0 expert 1 is True"),
        ("[[1, " + "9" * 5000 + "]]", SIZES, "not readable JSON"),
        ("[" * 100_000 + "]" * 100_000, SIZES, "nested too deeply"),
        (LOADS, ["--replicas", "15", "--groups", "4", "--nodes", "2", "--gpus", "8"],
         "--replicas (15) must be a multiple of --gpus (8)"),
        (LOADS, ["--replicas", "16", "--groups", "4", "--nodes", "3", "--gpus", "9"],
         "--replicas (16) must be a multiple of --gpus (9)"),
        (LOADS, ["--replicas", "18", "--groups", "6", "--nodes", "2", "--gpus", "3"],
         "--gpus (3) must be a multiple of --nodes (2)"),
        (LOADS, ["--replicas", "16", "--groups", "5", "--nodes", "1", "--gpus", "8"],
         "experts per layer in --weights (12) must be divisible by --groups (5)"),
        (LOADS, ["--replicas", "16", "--groups", "6", "--nodes", "4", "--gpus", "8", "--policy=hierarchical"],
         "--groups (6) must be divisible by --nodes (4) for the hierarchical policy"),
        (LOADS, ["--replicas", "8", "--groups", "4", "--nodes", "2", "--gpus", "8"],
         "--replicas (8) must be at least the number of experts per layer in --weights (12)"),
        (LOADS, ["--replicas", "16", "--groups", "0", "--nodes", "2", "--gpus", "8"],
         "--groups (0) must be at least 1"),
        (LOADS, ["--replicas", "10000000000", "--groups", "4", "--nodes", "2", "--gpus", "8"],
         "--replicas 10000000000: at most 65,536 allowed"),
        (LOADS, [*SIZES, "--policy", "best"], "allowed values are eplb, hierarchical, global, locality"),
        (LOADS, [*SIZES, "--policy", "locality", "--locality", "2"], "--locality"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path, content, options, message: str
) -> None:
    weights = tmp_path / "loads.json"
    if content is not None:
        weights.write_text(content)
    result = runner.invoke(app, ["place", "--weights", str(weights), *options])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output
    if content is not None and "--" not in message and "allowed values" not in message:
        assert f"--weights {weights}" in lines[0]


def test_weights_that_are_not_a_regular_file(runner: CliRunner, tmp_path) -> None:
    fifo = tmp_path / "loads.json"
    os.mkfifo(fifo)
    with fifo_writer_after(fifo) as hung:
        result = runner.invoke(app, ["place", "--weights", str(fifo), *SIZES])
    assert not hung, "reading the weights blocked on the FIFO"
    assert result.exit_code == 2
    assert "must be a regular file, not a FIFO" in result.stderr
    for path, reason in ((tmp_path, "not a folder"), (Path("/dev/zero"), "not a character device")):
        result = runner.invoke(app, ["place", "--weights", str(path), *SIZES])
        assert result.exit_code == 2 and reason.removeprefix("not ") in result.stderr


def test_weights_larger_than_the_limit(runner: CliRunner, tmp_path) -> None:
    weights = tmp_path / "loads.json"
    with weights.open("wb") as f:
        f.truncate(MAX_BYTES + 1)
    result = runner.invoke(app, ["place", "--weights", str(weights), *SIZES])
    assert result.exit_code == 2
    assert f"more than the {MAX_BYTES:,} allowed" in result.stderr


def test_weights_not_utf8(runner: CliRunner, tmp_path) -> None:
    weights = tmp_path / "loads.json"
    weights.write_bytes(b"[[1, 2],\n [3, \xff]]")
    result = runner.invoke(app, ["place", "--weights", str(weights), *SIZES])
    assert result.exit_code == 2
    assert "line 2: not UTF-8 text" in result.stderr


@pytest.mark.parametrize(
    ("text", "index", "line"),
    [
        ("[[1, 2],\n [3, 4]]", (1,), 2),
        ("[[1, 2],\n [3,\n 4]]", (1, 1), 3),
        ('[["a\\",[", 2],\n\n [3]]', (1, 0), 3),
        ("[\n[1],[2],\n[3]]", (2,), 3),
    ],
)
def test_line_of(text: str, index: tuple[int, ...], line: int) -> None:
    json.loads(text)  # the scan assumes text that parsed
    assert line_of(text, *index) == line


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=JSON_VALUES.map(json.dumps) | st.text(max_size=60), replicas=st.integers(-2, 20))
def test_any_weights_file_runs_or_exits_2(runner: CliRunner, tmp_path, content: str, replicas: int) -> None:
    weights = tmp_path / "loads.json"
    weights.write_text(content)
    sizes = ["--replicas", str(replicas), "--groups", "2", "--nodes", "2", "--gpus", "2"]
    result = runner.invoke(app, ["place", "--weights", str(weights), *sizes])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
