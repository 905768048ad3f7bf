import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gigawatt.moe import TraceError, load_trace, repeat_rate, synthetic_logits, zipf_popularity
from gigawatt.moe.traces import chance_repeat


@pytest.mark.parametrize(
    ("n_experts", "exponent", "target"), [(8, 0.0, 0.14), (8, 0.0, 0.26), (64, 1.0, 0.5)]
)
def test_repeat_probability_is_hit(n_experts: int, exponent: float, target: float) -> None:
    logits = synthetic_logits(
        200_000, n_experts, rng=np.random.default_rng(1), zipf_exponent=exponent, repeat_prob=target
    )
    assert repeat_rate(logits.argmax(axis=1)) == pytest.approx(target, abs=0.005)


def test_independent_tokens_repeat_at_chance() -> None:
    logits = synthetic_logits(200_000, 8, rng=np.random.default_rng(2), zipf_exponent=0.0)
    assert repeat_rate(logits.argmax(axis=1)) == pytest.approx(0.125, abs=0.004)


def test_top_expert_follows_the_zipf_skew() -> None:
    logits = synthetic_logits(200_000, 16, rng=np.random.default_rng(3), zipf_exponent=1.2, shuffle=False)
    share = np.bincount(logits.argmax(axis=1), minlength=16) / 200_000
    np.testing.assert_allclose(share, zipf_popularity(16, 1.2), atol=0.004)


def test_deterministic_for_a_seed() -> None:
    make = lambda seed: synthetic_logits(1000, 32, rng=np.random.default_rng(seed), repeat_prob=0.3)  # noqa: E731
    np.testing.assert_array_equal(make(9), make(9))
    assert not np.array_equal(make(9), make(10))
    assert make(9).dtype == np.float32


def test_repeat_below_chance_is_rejected() -> None:
    assert chance_repeat(zipf_popularity(8, 0.0)) == pytest.approx(0.125)
    with pytest.raises(ValueError, match="chance level"):
        synthetic_logits(10, 8, rng=np.random.default_rng(0), zipf_exponent=0.0, repeat_prob=0.05)


def test_load_npy_logits_and_ids(tmp_path) -> None:
    logits = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
    np.save(tmp_path / "logits.npy", logits)
    np.testing.assert_array_equal(load_trace(tmp_path / "logits.npy", n_experts=8).logits, logits)
    np.save(tmp_path / "top1.npy", np.array([0, 3, 7]))
    assert load_trace(tmp_path / "top1.npy").expert_ids.tolist() == [[0], [3], [7]]


def test_load_parquet_list_and_wide_columns(tmp_path) -> None:
    pq.write_table(pa.table({"experts": [[0, 1], [2, 3], [1, -1]]}), tmp_path / "ids.parquet")
    assert load_trace(tmp_path / "ids.parquet").expert_ids.tolist() == [[0, 1], [2, 3], [1, -1]]
    pq.write_table(
        pa.table({"e0": [0.5, 1.5], "e1": [2.0, -1.0], "e2": [0.0, 0.0]}), tmp_path / "wide.parquet"
    )
    np.testing.assert_array_equal(
        load_trace(tmp_path / "wide.parquet").logits, [[0.5, 2.0, 0.0], [1.5, -1.0, 0.0]]
    )


@pytest.mark.parametrize(
    ("writer", "message"),
    [
        (lambda p: np.save(p / "t.npy", np.zeros((2, 3, 4))), "2-D"),
        (lambda p: np.save(p / "t.npy", np.array([[0.0, np.nan]])), "NaN"),
        (lambda p: np.save(p / "t.npy", np.array([[0, -2]])), ">= 0"),
        (lambda p: np.save(p / "t.npy", np.array([[0, 9]])), "below 8"),
        (lambda p: np.save(p / "t.npy", np.array(["a"])), "dtype"),
        (lambda p: (p / "t.npy").write_text("not numpy"), "readable"),
        (lambda p: pq.write_table(pa.table({"x": [[1.0, 2.0], [3.0]]}), p / "t.parquet"), "ragged"),
        (lambda p: pq.write_table(pa.table({"x": [1.0, None]}), p / "t.parquet"), "null"),
        (lambda p: pq.write_table(pa.table({"x": [1.0, 2.0], "y": [1, 2]}), p / "t.parquet"), "all floats"),
        (lambda p: pq.write_table(pa.table({"x": ["a", "b"]}), p / "t.parquet"), "all floats"),
        (lambda p: (p / "t.parquet").write_text("nope"), "Parquet"),
        (lambda p: (p / "t.csv").write_text("1,2"), "unsupported"),
    ],
)
def test_bad_trace_files_are_named_in_the_error(tmp_path, writer, message: str) -> None:
    writer(tmp_path)
    (path,) = list(tmp_path.iterdir())
    with pytest.raises(TraceError, match=message) as error:
        load_trace(path, n_experts=8)
    assert str(path) in str(error.value)


def test_missing_trace_file(tmp_path) -> None:
    with pytest.raises(TraceError, match="no such file"):
        load_trace(tmp_path / "missing.npy")
