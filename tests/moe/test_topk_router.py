import numpy as np
import pytest

from gigawatt.moe import ROUTERS, NoisyTopKRouter, TopKRouter, make_router


def assert_distinct_per_token(experts: np.ndarray) -> None:
    ordered = np.sort(experts, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    assert not repeated.any()


@pytest.mark.parametrize("score", ["softmax", "sigmoid"])
def test_exactly_k_distinct_experts_with_normalised_gates(logits: np.ndarray, score: str) -> None:
    routing = TopKRouter(k=6, score=score).route(logits)
    assert routing.experts.shape == (5000, 6)
    assert (routing.experts >= 0).all()
    assert_distinct_per_token(routing.experts)
    np.testing.assert_allclose(routing.weights.sum(axis=1), 1.0, rtol=1e-5)
    assert (routing.stats.k_hist == np.bincount([6] * 5000, minlength=7)).all()


def test_softmax_gates_are_the_softmax_over_the_top_k(logits: np.ndarray) -> None:
    routing = TopKRouter(k=2).route(logits[:50])
    chosen = np.take_along_axis(logits[:50], routing.experts, axis=1).astype(np.float64)
    expected = np.exp(chosen) / np.exp(chosen).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(routing.weights, expected, rtol=1e-5)
    raw = TopKRouter(k=2, normalize=False).route(logits[:50])
    probs = np.exp(logits[:50].astype(np.float64))
    probs /= probs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(raw.weights, np.take_along_axis(probs, raw.experts, axis=1), rtol=1e-5)


def test_chosen_experts_are_the_best_scored(logits: np.ndarray) -> None:
    routing = TopKRouter(k=4).route(logits)
    chosen_min = np.take_along_axis(logits, routing.experts, axis=1).min(axis=1)
    others = logits.copy()
    np.put_along_axis(others, routing.experts, -np.inf, axis=1)
    assert (chosen_min >= others.max(axis=1)).all()


def test_shared_experts_are_counted_for_every_token(logits: np.ndarray) -> None:
    stats = TopKRouter(k=2, n_shared=2).route(logits).stats
    np.testing.assert_array_equal(stats.shared_load, [5000, 5000])
    assert stats.expert_load.sum() == 10000


def test_registry_knows_every_router_by_name() -> None:
    expected = {
        "topk",
        "noisy_topk",
        "capacity",
        "group_limited",
        "bias_balanced",
        "top_p",
        "expert_choice",
        "two_stage",
        "adaptive_k",
    }
    assert set(ROUTERS) == expected
    assert isinstance(make_router("noisy_topk", k=2), NoisyTopKRouter)
    with pytest.raises(ValueError, match="allowed: topk"):
        make_router("nope")
    with pytest.raises(ValueError, match="alpha"):
        make_router("topk", alpha=0.5)


def test_noisy_top_k_needs_rng_and_is_deterministic(logits: np.ndarray) -> None:
    router = NoisyTopKRouter(k=2, noise_std=1.0)
    with pytest.raises(ValueError, match="Generator"):
        router.route(logits)
    first = router.route(logits, rng=np.random.default_rng(7))
    again = router.route(logits, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first.experts, again.experts)
    plain = TopKRouter(k=2).route(logits)
    assert (first.experts != plain.experts).any()
    assert_distinct_per_token(first.experts)


def test_noise_logits_set_the_noise_scale(logits: np.ndarray) -> None:
    quiet = np.full_like(logits, -40.0)  # softplus(-40) ≈ 4e-18: no noise at all
    routing = NoisyTopKRouter(k=3).route(logits, rng=np.random.default_rng(0), noise_logits=quiet)
    np.testing.assert_array_equal(routing.experts, TopKRouter(k=3).route(logits).experts)
    with pytest.raises(ValueError, match="shape"):
        NoisyTopKRouter(k=3).route(logits, rng=np.random.default_rng(0), noise_logits=quiet[:10])


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="tokens, experts"):
        TopKRouter(k=2).route(np.zeros(5))
    with pytest.raises(ValueError, match="exceeds"):
        TopKRouter(k=9).route(np.zeros((3, 8)))
    with pytest.raises(ValueError, match="score"):
        TopKRouter(score="relu")  # type: ignore[arg-type]
