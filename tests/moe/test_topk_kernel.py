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
