"""Trace files that are not what they should be: clean errors naming the file and row, never a quote of a
file that is not a trace, and only the rows `limit` asks for are read (issue 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gigawatt.workload.serving.traces import TraceError, read_azure_trace

from .hangs import fifo_writer_after

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
ROW = "2023-11-16 18:15:46.6805900,374,44\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "TIMESTAMP,TIMESTAMP,ContextTokens,GeneratedTokens\n" + "2023-11-16 18:15:46,x,1,2\n",
            "more than once",
        ),
        (
            HEADER + ROW + "1500-01-01 00:00:00,1,1\n",
            "row 2 (line 3): TIMESTAMP '1500-01-01 00:00:00' is outside",
        ),
        (
            HEADER + ROW + "2300-01-01 00:00:00,1,1\n",
            "row 2 (line 3): TIMESTAMP '2300-01-01 00:00:00' is outside",
        ),
        (
            HEADER + ROW + "2023-13-01 00:00:00,1,1\n",
            "row 2 (line 3): TIMESTAMP '2023-13-01 00:00:00' is not a",
        ),
        (HEADER + ROW + "2023-11-16 18:15:47,99999999999999999999999,1\n", "row 2 (line 3): ContextTokens"),
        (
            HEADER + ROW + "2023-11-16 18:15:47,1,999999999\n",
            "row 2 (line 3): GeneratedTokens '999999999' is more",
        ),
        (
            HEADER + ROW + "2023-11-16 18:15:47,1\n",
            "line 3: 2 comma-separated value(s) where the header has 3",
        ),
    ],
)
def test_bad_traces_are_clean_errors_naming_file_and_row(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(TraceError) as err:
        read_azure_trace(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_timestamps_centuries_apart_are_not_going_back_in_time(tmp_path):
    path = write(tmp_path, HEADER + "1678-01-01 00:00:00,1,1\n2262-01-01 00:00:00,1,1\n")
    a = read_azure_trace(path)
    assert a.arrival_s[0] == 0.0
    assert a.arrival_s[1] == pytest.approx(584 * 365.2425 * 86_400, rel=1e-4)


def test_a_file_that_is_not_a_trace_is_never_quoted(tmp_path):
    secret = tmp_path / "credentials"
    secret.write_text("password=hunter2\naws_secret=abc123,def,ghi,jkl\n")
    with pytest.raises(TraceError) as err:
        read_azure_trace(secret)
    assert "hunter2" not in str(err.value) and "abc123" not in str(err.value)
    assert "missing column(s)" in str(err.value)


def test_a_quoted_value_is_short(tmp_path):
    path = write(tmp_path, HEADER + ROW + "2023-11-16 18:15:47," + "7" * 100_000 + "x,1\n")
    with pytest.raises(TraceError) as err:
        read_azure_trace(path)
    assert len(str(err.value)) < 300


def test_only_the_rows_limit_asks_for_are_read(tmp_path):
    # Everything after the first rows is broken: a reader that reads the whole file fails on it.
    path = write(tmp_path, HEADER + ROW * 5_000 + "not,a,trace,row\n" * 200_000)
    a = read_azure_trace(path, limit=2)
    assert a.arrival_s.size == 2


def test_a_fifo_trace_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "trace.csv"
    os.mkfifo(fifo)
    with fifo_writer_after(fifo) as hung, pytest.raises(TraceError) as err:
        read_azure_trace(fifo)
    assert not hung, "reading the trace blocked on the FIFO"
    assert "must be a regular file, not a FIFO" in str(err.value)
