import numpy as np
import pytest

from gigawatt.moe import top_k


def reference(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize(("n_experts", "k"), [(256, 8), (64, 6), (8, 2), (160, 1), (300, 10), (5000, 3)])
def test_matches_a_stable_sort(n_experts: int, k: int) -> None:
    rng = np.random.default_rng(n_experts)
    scores = rng.standard_normal((3000, n_experts)).astype(np.float32)
    scores[:100] = np.round(scores[:100])  # exact ties, including -0.0 against +0.0
    scores[100:200] -= 50.0  # all negative
    scores[200:300] = np.abs(scores[200:300])  # all positive
    scores[300:400] *= 1e-30  # tiny values
    index, value = top_k(scores, k)
    np.testing.assert_array_equal(index, reference(scores, k))
    np.testing.assert_array_equal(value, np.take_along_axis(scores, index, axis=1))


def test_near_ties_are_exact() -> None:
    rng = np.random.default_rng(0)
    scores = np.ones((2000, 256), dtype=np.float32) + rng.integers(0, 4, (2000, 256)) * np.float32(1e-7)
    index, _ = top_k(scores, 8)
    np.testing.assert_array_equal(index, reference(scores, 8))


def test_minus_infinity_is_never_chosen() -> None:
    scores = np.full((4, 10), -np.inf, dtype=np.float32)
    scores[:, 7] = 1.0
    scores[:, 2] = -3.0
    index, value = top_k(scores, 3)
    np.testing.assert_array_equal(index, [[7, 2, -1]] * 4)
    assert np.isneginf(value[:, 2]).all()


def test_threads_give_the_same_answer() -> None:
    scores = np.random.default_rng(5).standard_normal((20000, 128)).astype(np.float32)
    one, _ = top_k(scores, 8)
    two, _ = top_k(scores, 8, workers=2)
    np.testing.assert_array_equal(one, two)


def test_nan_and_bad_k_are_rejected() -> None:
    scores = np.zeros((3, 5), dtype=np.float32)
    scores[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        top_k(scores, 2)
    with pytest.raises(ValueError, match="k must be"):
        top_k(scores, 6)


def _hard_rows(rng: np.random.Generator, n_rows: int, n_experts: int) -> np.ndarray:
    """Rows that stress the group screen: exact and near ties across groups, ±0, -inf, equal rows."""
    scores = rng.standard_normal((n_rows, n_experts)).astype(np.float32)
    part = n_rows // 6
    scores[:part] = np.round(scores[:part] * 2) / 2  # exact ties between group maxima
    near = slice(part, 2 * part)
    scores[near] = 1.0 + rng.integers(0, 3, (part, n_experts)) * np.float32(1e-7)  # ties after truncation
    zeros = slice(2 * part, 3 * part)
    scores[zeros] = np.where(rng.random((part, n_experts)) < 0.5, np.float32(-0.0), np.float32(0.0))
    scores[zeros, ::9] = rng.standard_normal((part, len(range(0, n_experts, 9)))).astype(np.float32)
    minus_inf = slice(3 * part, 4 * part)
    scores[minus_inf][rng.random((part, n_experts)) < 0.95] = -np.inf  # some rows with fewer than k finite
    scores[4 * part : 5 * part] = scores[4 * part]  # identical rows
    return scores


@pytest.mark.parametrize(("n_experts", "k"), [(256, 8), (256, 16), (256, 1), (128, 6), (384, 10), (512, 20)])
def test_group_screen_matches_a_stable_sort(n_experts: int, k: int) -> None:
    # These shapes take the screened path (columns of the best groups only); it must not change the answer.
    scores = _hard_rows(np.random.default_rng(k), 3000, n_experts)
    index, value = top_k(scores, k)
    expected = reference(scores, k)
    expected_value = np.take_along_axis(scores, expected, axis=1)
    np.testing.assert_array_equal(index, np.where(expected_value > -np.inf, expected, -1))
    np.testing.assert_array_equal(value.view(np.int32), expected_value.view(np.int32))  # -0.0 stays -0.0


def test_nan_anywhere_in_a_row_is_found() -> None:
    rng = np.random.default_rng(3)
    for column in (0, 63, 64, 200, 255):  # in every slab of a 256-column row
        scores = rng.standard_normal((50, 256)).astype(np.float32)
        scores[17, column] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            top_k(scores, 8)


def test_nan_with_its_sign_bit_set_ranks_lowest() -> None:
    # A negative NaN keys below -inf: never chosen while k finite scores remain, and it must not hide the
    # other columns of its group.
    rng = np.random.default_rng(4)
    scores = rng.permuted(np.tile(np.arange(256, dtype=np.float32) - 100, (400, 1)), axis=1)  # no near ties
    best = reference(scores, 1)[:, 0]
    negative_nan = np.array([0xFFC00000], dtype=np.uint32).view(np.float32)[0]
    scores[np.arange(400), best ^ 64] = negative_nan  # in the best column's group, in another slab
    index, _ = top_k(scores, 8)
    np.testing.assert_array_equal(index, reference(np.where(np.isnan(scores), -np.inf, scores), 8))
