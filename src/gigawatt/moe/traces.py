"""Synthetic router logits with skewed expert popularity and temporal locality.

Skew: expert popularity follows Zipf's law, p_i ∝ 1 / rank_i^exponent (exponent 0 = uniform).
Locality: the probability that a token's top expert equals the previous token's. Mixtral (arXiv 2401.04088
§5) measured about 14% at layer 0 and 24–28% at layer 15 with 8 experts, against 12.5% by chance.

Each token's logits are log p + Gumbel noise, so its top expert is a draw from p (the Gumbel-max trick).
To reach the requested repeat rate r, a token copies the previous token's top expert with probability
q = (r - c) / (1 - c), where c = Σ p_i² is the chance that two independent draws agree; the copied expert
is swapped into first place, which leaves each row's set of values unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def zipf_popularity(
    n_experts: int, exponent: float, rng: np.random.Generator | None = None
) -> NDArray[np.float64]:
    """Zipf probabilities over experts; with rng the ranks are shuffled so that hot experts are not 0, 1, …"""
    if n_experts < 1 or exponent < 0:
        raise ValueError(f"need n_experts >= 1 and exponent >= 0, got {n_experts} and {exponent}")
    popularity = 1.0 / np.arange(1, n_experts + 1) ** exponent
    if rng is not None:
        popularity = rng.permutation(popularity)
    return popularity / popularity.sum()


def chance_repeat(popularity: NDArray[np.float64]) -> float:
    """Repeat rate of the top expert when tokens are independent."""
    return float(np.square(popularity).sum())


def synthetic_logits(
    n_tokens: int,
    n_experts: int,
    *,
    rng: np.random.Generator,
    zipf_exponent: float = 1.0,
    repeat_prob: float | None = None,
    shuffle: bool = True,
    popularity: NDArray[np.float64] | None = None,
) -> NDArray[np.float32]:
    """(n_tokens, n_experts) float32 router logits; repeat_prob None means independent tokens.

    `popularity` fixes the experts' probabilities (e.g. the same hot experts sample after sample);
    otherwise they are Zipf with `zipf_exponent`, ranks shuffled by `rng` when `shuffle`.
    """
    if popularity is None:
        popularity = zipf_popularity(n_experts, zipf_exponent, rng if shuffle else None)
    elif popularity.shape != (n_experts,):
        raise ValueError(f"popularity must have one entry per expert ({n_experts}), got {popularity.shape}")
    chance = chance_repeat(popularity)
    target = chance if repeat_prob is None else repeat_prob
    if not chance - 1e-12 <= target <= 1.0:
        raise ValueError(
            f"repeat_prob must be within [{chance:.4f}, 1] (chance level for this skew), got {target}"
        )
    copy_prob = 0.0 if chance >= 1.0 else (target - chance) / (1.0 - chance)

    uniform = rng.random((n_tokens, n_experts), dtype=np.float32)
    np.maximum(uniform, np.finfo(np.float32).tiny, out=uniform)
    logits = np.log(uniform)
    np.negative(logits, out=logits)
    np.log(logits, out=logits)
    np.negative(logits, out=logits)  # Gumbel(0, 1)
    logits += np.log(popularity).astype(np.float32)

    drawn = logits.argmax(axis=1)
    fresh = rng.random(n_tokens) >= copy_prob
    fresh[:1] = True
    # Forward-fill: every token takes the top expert of the latest fresh token.
    source = np.maximum.accumulate(np.where(fresh, np.arange(n_tokens), 0))
    top = drawn[source]
    rows = np.flatnonzero(top != drawn)
    a, b = drawn[rows], top[rows]
    logits[rows, a], logits[rows, b] = logits[rows, b], logits[rows, a]
    return logits


def repeat_rate(top_expert: NDArray[np.integer]) -> float:
    """Share of tokens whose top expert equals the previous token's."""
    if top_expert.size < 2:
        return 0.0
    return float((top_expert[1:] == top_expert[:-1]).mean())
