"""Property-based fuzzing of `gigawatt run` over mutations of every example and over trace CSVs (issue 7).

For every case: exit 0 or one clean `error:` message with exit 2, never a traceback; nothing outside the
results folder touched; nothing at all written when the run fails. The `ci` profile runs a small fixed set
of cases; `--hypothesis-profile soak` runs thousands.

Examples are made cheap before they are mutated (two simulated minutes, one variant, a small trace), and
runs estimated to take longer than MAX_TIME to simulate are refused after validation by the limit check:
the fuzzer exercises validation fully and the simulation only where it is quick.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.results_folder import MARKER
from gigawatt.workload.serving.traces import TraceError, read_azure_trace
from helpers import EXAMPLES

from .fuzzing import HEADER, scenario_text, snapshot, trace_text

# A warning raised inside a callback from C code is printed with a traceback, and the fuzzer must see it.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
MAX_TIME = "20 s"
GOOD_TRACE = (
    HEADER + "\n" + "".join(f"2023-11-16 18:15:{i:02d}.5,{100 + 37 * i},{20 + i}\n" for i in range(40))
)
# Where --out points, from the working folder sandbox/work: the default, ordinary places and a folder to
# be created; then a user's folder, the scenario's folder, the working folder and its parent, a file, a
# path through a file, a name too long and a symlink loop.
GOOD_OUTS = [None, "../out/res", "../deep/a/b/res"]
HOSTILE_OUTS = [
    "../keep",
    "../in",
    ".",
    "..",
    "../in/scen.yaml",
    "../afile/res",
    "../" + "r" * 300,
    "../loop/res",
]


def cheap(data: dict[str, Any]) -> dict[str, Any]:
    """The example made cheap to run many times: two simulated minutes, one variant, the sandbox trace."""
    data = copy.deepcopy(data)
    data["duration"] = "2 min"
    if isinstance(data.get("variants"), list):
        data["variants"] = data["variants"][:1]
    arrivals = (data.get("workload") or {}).get("arrivals")
    if isinstance(arrivals, dict) and "path" in arrivals:
        arrivals["path"] = "trace.csv"
    return data


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A folder with the scenario's folder, a user's folder holding a summary.json, a file, a symlink loop
    and a working folder, which is made the current one."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for folder in ("in", "keep", "work"):
            (root / folder).mkdir()
        (root / "in" / "trace.csv").write_text(GOOD_TRACE)
        (root / "keep" / "summary.json").write_text("{}")
        (root / "keep" / "notes.txt").write_text("mine")
        (root / "afile").write_text("x")
        (root / "loop").symlink_to(root / "loop")
        os.chdir(root / "work")
        try:
            yield root
        finally:
            os.chdir(cwd)


def check_run(root: Path, out: str | None) -> None:
    before = snapshot(root)
    args = ["run", "../in/scen.yaml", "--max-time", MAX_TIME, *(["--out", out] if out else [])]
    result = CliRunner().invoke(app, args)
    output = result.output
    assert result.exit_code in (0, 2), (result.exit_code, output, repr(result.exception))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert max(map(len, output.splitlines()), default=0) < 2_000, output[:500]
    after = snapshot(root)
    event(f"exit {result.exit_code}")  # the soak's statistics show how many ran and how many were refused
    if result.exit_code == 2:
        assert output.startswith("error:"), output
        assert after == before, "a failed run changed files"
        return
    new_markers = [Path(p) for p in after if p.endswith(MARKER) and p not in before]
    targets = [
        m.parent
        for m in new_markers
        if not any(m.parent.is_relative_to(o.parent) and m != o for o in new_markers)
    ]
    assert len(targets) <= 1, targets
    changed = {Path(p) for p in set(before) | set(after) if before.get(p) != after.get(p)}
    for path in changed:
        assert any(path.is_relative_to(t) or t.is_relative_to(path) for t in targets), f"touched {path}"
    assert not [p for p in after if ".partial-" in p or ".old-" in p], "staging left behind"


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.stem)
@given(data=st.data())
def test_mutated_examples_run_or_fail_cleanly(example: Path, data: st.DataObject) -> None:
    base = cheap(yaml.safe_load(example.read_text()))
    text = data.draw(scenario_text(base), label="scenario")
    out = data.draw(st.sampled_from(GOOD_OUTS) | st.sampled_from(HOSTILE_OUTS), label="--out")
    with sandbox() as root:
        (root / "in" / "scen.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        check_run(root, out)


@given(trace=trace_text(), limit=st.none() | st.integers(1, 60), scale=st.sampled_from([1.0, 0.5, 1e-9, 1e9]))
def test_trace_reader_returns_arrivals_or_a_clean_error(
    trace: bytes, limit: int | None, scale: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.csv"
        path.write_bytes(trace)
        try:
            a = read_azure_trace(path, scale, limit)
        except TraceError as exc:
            message = str(exc)
            assert message.startswith(str(path)) and len(message) < 400, message
            assert "hunter2" not in message
            return
    assert a.arrival_s.size == a.prompt_tokens.size == a.output_tokens.size > 0
    assert limit is None or a.arrival_s.size <= limit
    assert np.all(np.isfinite(a.arrival_s)) and np.all(np.diff(a.arrival_s) >= 0) and a.arrival_s[0] == 0.0
    assert np.all(a.prompt_tokens >= 0) and np.all(a.output_tokens >= 0)


TRACE_EXAMPLES = [p for p in EXAMPLE_FILES if "kind: trace" in p.read_text()]


@pytest.mark.parametrize("example", TRACE_EXAMPLES, ids=lambda p: p.stem)
@given(trace=trace_text())
def test_fuzzed_traces_through_the_cli(example: Path, trace: bytes) -> None:
    base = cheap(yaml.safe_load(example.read_text()))
    with sandbox() as root:
        (root / "in" / "scen.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
        (root / "in" / "trace.csv").write_bytes(trace)
        check_run(root, "../out/res")
