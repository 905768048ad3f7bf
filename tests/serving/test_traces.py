from pathlib import Path

import numpy as np
import pytest

from gigawatt.workload.serving.traces import (
    TraceError,
    bursty_arrivals,
    poisson_arrivals,
    read_azure_trace,
)

TRACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces"
CONV = TRACES / "AzureLLMInferenceTrace_conv.csv"
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
needs_conv = pytest.mark.skipif(
    not CONV.exists(), reason=f"Azure conversation trace not found at {CONV} (../shared/data beside the repo)"
)


def _cv(x: np.ndarray) -> float:
    return float(np.std(x) / np.mean(x))


def test_poisson_rate_and_cv() -> None:
    a = poisson_arrivals(40_000, 5.0, np.random.default_rng(1), 100, 200)
    gaps = np.diff(np.concatenate([[0.0], a.arrival_s]))
    assert np.mean(gaps) == pytest.approx(0.2, rel=0.02)
    assert _cv(gaps) == pytest.approx(1.0, rel=0.03)
    assert np.all(a.prompt_tokens == 100) and np.all(a.output_tokens == 200)


@pytest.mark.parametrize("cv", [0.5, 3.0])
def test_gamma_inter_arrivals_have_the_asked_cv(cv: float) -> None:
    a = bursty_arrivals(80_000, 2.0, cv, np.random.default_rng(2), 10, 10)
    gaps = np.diff(a.arrival_s)
    assert np.mean(gaps) == pytest.approx(0.5, rel=0.03)
    assert _cv(gaps) == pytest.approx(cv, rel=0.05)


def test_arrivals_are_deterministic_per_seed() -> None:
    lengths = np.array([5, 50, 500])
    a = bursty_arrivals(1000, 3.0, 2.0, np.random.default_rng(7), lengths, lengths)
    b = bursty_arrivals(1000, 3.0, 2.0, np.random.default_rng(7), lengths, lengths)
    c = bursty_arrivals(1000, 3.0, 2.0, np.random.default_rng(8), lengths, lengths)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.arrival_s, c.arrival_s)
    assert set(np.unique(a.prompt_tokens)) == {5, 50, 500}


@needs_conv
def test_reads_the_azure_conversation_trace() -> None:
    a = read_azure_trace(CONV)
    # 19,366 data rows: the file (CRLF) has no final newline, so `wc -l` shows one line fewer.
    assert a.arrival_s.size == 19_366
    assert a.arrival_s[0] == 0.0
    # Second row: 18:15:50.9951690 − 18:15:46.6805900.
    assert a.arrival_s[1] == pytest.approx(4.314579, abs=1e-9)
    assert a.arrival_s[-1] == pytest.approx(3501.721937, abs=1e-6)
    assert (a.prompt_tokens[0], a.output_tokens[0]) == (374, 44)
    assert np.all(np.diff(a.arrival_s) >= 0)
    fast = read_azure_trace(CONV, time_scale=0.5, limit=100)
    assert fast.arrival_s.size == 100
    np.testing.assert_allclose(fast.arrival_s, a.arrival_s[:100] * 0.5)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


ROW = "2023-11-16 18:15:46.6805900,374,44\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Empty CSV file"),
        (HEADER, "no requests"),
        ("TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,374\n", "missing column(s) GeneratedTokens"),
        (HEADER + ROW + "2023-11-16 18:15:47.0,abc,44\n", "row 2 (line 3): ContextTokens 'abc' is not a"),
        (HEADER + ROW + ROW + "2023-11-16 18:15:47.0,10,-3\n", "row 3 (line 4): GeneratedTokens '-3'"),
        (HEADER + ROW + "2023-11-16 18:15:45.0,10,3\n", "row 2 (line 3): TIMESTAMP goes back in time"),
        (HEADER + ROW + "yesterday,10,3\n", "row 2 (line 3): TIMESTAMP 'yesterday' is not a date-time"),
    ],
)
def test_bad_traces_name_file_row_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TraceError) as err:
        read_azure_trace(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such trace file"):
        read_azure_trace(tmp_path / "absent.csv")
