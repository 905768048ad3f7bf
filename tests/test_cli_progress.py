"""Progress off a terminal: plain lines every tenth of the run or few seconds, none for short runs."""

import io
import itertools

from rich.console import Console

from gigawatt import cli


def _lines(monkeypatch, seconds_per_tick: float, ticks: int) -> list[str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=out, force_terminal=False, width=200))
    clock = [0.0]
    monkeypatch.setattr(cli.time, "perf_counter", lambda: clock[0])
    progress = cli.LazyProgress("simulating x")
    for done in range(1, ticks + 1):
        clock[0] += seconds_per_tick
        progress(done, ticks)
    progress.close()
    return out.getvalue().splitlines()


def test_plain_lines_every_tenth_when_not_a_terminal(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(monkeypatch, 0.01, 1000)  # 10 s in all, so the 5 s rule does not bind
    assert lines, "a 10 s run off a terminal prints progress"
    assert all(line.startswith("simulating x: ") and "ticks" in line for line in lines)
    shares = [int(line.split(": ")[1].split("%")[0]) for line in lines]
    assert shares == sorted(shares) and shares[0] >= 20  # nothing in the first PROGRESS_AFTER_S (2 s)
    assert all(b - a >= 10 for a, b in itertools.pairwise(shares))
    assert len(lines) <= 9


def test_plain_lines_every_few_seconds_on_slow_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(monkeypatch, 1.0, 100)  # 100 s, 1 % a second: the 5 s rule binds before the 10 % one
    assert 15 <= len(lines) <= 20


def test_no_lines_for_a_short_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert _lines(monkeypatch, 0.001, 1000) == []
