import numpy as np
import pytest

from gigawatt.moe import TopPRouter


def probabilities(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("p", [0.3, 0.5, 0.8])
def test_top_p_selects_the_minimal_set(logits: np.ndarray, p: float) -> None:
    routing = TopPRouter(k=64, p=p).route(logits)
    probs = probabilities(logits)
    count = routing.k_per_token
    chosen = np.where(routing.experts >= 0, np.take_along_axis(probs, np.maximum(routing.experts, 0), 1), 0)
    mass = chosen.sum(axis=1)
    assert (mass >= p - 1e-5).all()
    # Without its weakest member the set falls short of p, and it holds the most probable experts.
    weakest = np.take_along_axis(chosen, (count - 1)[:, None], axis=1)[:, 0]
    assert (mass - weakest < p + 1e-5).all()
    best_left_out = np.where(np.isin(np.arange(64), routing.experts[0]), 0, probs[0]).max()
    assert chosen[0][chosen[0] > 0].min() >= best_left_out
    assert count.min() >= 1 and count.max() > 1


def test_top_p_respects_the_cap(logits: np.ndarray) -> None:
    routing = TopPRouter(k=2, p=0.99).route(logits)
    probs = probabilities(logits)
    needs_two = probs.max(axis=1) < 0.99
    assert routing.experts.shape[1] == 2
    np.testing.assert_array_equal(routing.k_per_token, np.where(needs_two, 2, 1))


def test_top_p_rejects_sigmoid() -> None:
    with pytest.raises(ValueError, match="softmax"):
        TopPRouter(score="sigmoid")
