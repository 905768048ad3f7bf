import numpy as np

from gigawatt.moe import ExpertChoiceRouter


def test_each_expert_takes_exactly_c_tokens(logits: np.ndarray) -> None:
    router = ExpertChoiceRouter(k=2, capacity_factor=1.0)
    routing = router.route(logits)
    per_expert = router.tokens_per_expert(5000, 64)
    assert per_expert == 157  # ceil(5000 * 2 / 64)
    np.testing.assert_array_equal(routing.stats.expert_load, np.full(64, per_expert))
    assert routing.stats.balancedness == 1.0


def test_experts_pick_their_best_tokens(logits: np.ndarray) -> None:
    routing = ExpertChoiceRouter(k=1).route(logits[:640])
    probs = np.exp(logits[:640].astype(np.float64))
    probs /= probs.sum(axis=1, keepdims=True)
    tokens_of_3 = np.flatnonzero((routing.experts == 3).any(axis=1))
    expected = np.argsort(-probs[:, 3], kind="stable")[:10]
    np.testing.assert_array_equal(np.sort(tokens_of_3), np.sort(expected))
    # Gates are the token-to-expert probabilities (not renormalised).
    row = tokens_of_3[0]
    slot = list(routing.experts[row]).index(3)
    np.testing.assert_allclose(routing.weights[row, slot], probs[row, 3], rtol=1e-5)
