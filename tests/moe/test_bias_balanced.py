import numpy as np

from gigawatt.moe import BiasBalancedRouter, synthetic_logits


def imbalance(load: np.ndarray) -> float:
    return float(load.max() / load.mean())


def test_bias_balancing_lowers_imbalance_over_steps(rng: np.random.Generator) -> None:
    router = BiasBalancedRouter(k=4, gamma=0.01)
    first_logits = synthetic_logits(4000, 32, rng=np.random.default_rng(0), zipf_exponent=1.0, shuffle=False)
    first = imbalance(router.route(first_logits).stats.expert_load)
    for step in range(1, 60):
        # Same skew (expert 0 hottest) every batch, fresh tokens.
        batch = synthetic_logits(4000, 32, rng=np.random.default_rng(step), zipf_exponent=1.0, shuffle=False)
        last = imbalance(router.route(batch).stats.expert_load)
    assert first > 2.0
    assert last < 0.6 * first
    assert router.bias is not None and router.bias[0] < router.bias[-1]  # the hottest expert is pushed down


def test_bias_steers_selection_but_not_gates(logits: np.ndarray) -> None:
    bias = np.zeros(64, dtype=np.float32)
    bias[5] = 10.0  # expert 5 is always selected...
    routing = BiasBalancedRouter(k=2, bias=bias, update=False).route(logits)
    assert (routing.experts == 5).any(axis=1).all()
    sig = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    gates = np.take_along_axis(sig, routing.experts, axis=1)
    # ...but its gate comes from its unbiased score.
    np.testing.assert_allclose(routing.weights, gates / gates.sum(axis=1, keepdims=True), rtol=1e-5)


def test_update_rule_moves_by_gamma(logits: np.ndarray) -> None:
    router = BiasBalancedRouter(k=2, gamma=0.5)
    load = router.route(logits).stats.expert_load
    assert router.bias is not None
    expected = -0.5 * np.sign(load - load.mean())
    np.testing.assert_allclose(router.bias, expected)
