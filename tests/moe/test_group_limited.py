import numpy as np

from gigawatt.moe import GroupLimitedRouter, synthetic_logits


def test_never_more_than_m_groups_per_token(rng: np.random.Generator) -> None:
    logits = synthetic_logits(4000, 256, rng=rng, zipf_exponent=0.8)
    router = GroupLimitedRouter(k=8, n_groups=8, topk_groups=3)
    routing = router.route(logits)
    groups = routing.experts // 32
    ordered = np.sort(groups, axis=1)
    n_groups_used = 1 + (ordered[:, 1:] != ordered[:, :-1]).sum(axis=1)
    assert n_groups_used.max() <= 3
    assert (routing.experts >= 0).all()


def test_matches_the_deepseek_v3_rule_token_by_token(rng: np.random.Generator) -> None:
    logits = rng.standard_normal((200, 32)).astype(np.float32)
    routing = GroupLimitedRouter(k=4, n_groups=4, topk_groups=2, score="sigmoid").route(logits)
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    for token in range(200):
        grouped = scores[token].reshape(4, 8)
        group_score = np.sort(grouped, axis=1)[:, -2:].sum(axis=1)
        kept = np.argsort(-group_score, kind="stable")[:2]
        masked = np.full(32, -np.inf)
        for group in kept:
            masked[group * 8 : (group + 1) * 8] = grouped[group]
        expected = np.argsort(-masked, kind="stable")[:4]
        np.testing.assert_array_equal(routing.experts[token], expected)
    gates = np.take_along_axis(scores, routing.experts, axis=1)
    np.testing.assert_allclose(routing.weights, gates / gates.sum(axis=1, keepdims=True), rtol=1e-5)


def test_groups_without_a_finite_top_two_sum_are_never_kept() -> None:
    """Where fewer groups than topk_groups have a finite top-two sum, the unfilled places keep no group:
    an expert alone in its group (the rest -inf) is not allowed, whichever group it sits in."""
    logits = np.full((1, 16), -np.inf, dtype=np.float32)
    logits[0, [0, 1, 6, 12]] = [5.0, 4.0, 9.0, 8.0]  # group 0 has two finite scores; groups 1 and 3 one each
    routing = GroupLimitedRouter(k=3, n_groups=4, topk_groups=2, score="identity").route(logits)
    chosen = set(routing.experts[0].tolist()) - {-1}
    assert chosen == {0, 1}  # not 12, as a -1 group index read as the last group once allowed
