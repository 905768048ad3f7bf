"""Router scores from logits, and gate weights over the chosen experts."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.rowwise import row_max, row_sum

# softmax (Mixtral, Switch), sigmoid (DeepSeek-V3), identity: the input already holds scores.
ScoreFn = Literal["softmax", "sigmoid", "identity"]
SCORE_FNS: tuple[ScoreFn, ...] = ("softmax", "sigmoid", "identity")


def as_score_matrix(logits: ArrayLike) -> NDArray[np.float32]:
    """Router logits as a C-contiguous float32 (tokens, experts) array (no copy when already so)."""
    matrix = np.ascontiguousarray(logits, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise ValueError(f"router logits must be a (tokens, experts) array, got shape {matrix.shape}")
    return matrix


def check_score_fn(score: str) -> None:
    if score not in SCORE_FNS:
        raise ValueError(f"unknown score function {score!r}; allowed: {', '.join(SCORE_FNS)}")


def activate(logits: NDArray[np.float32], score: ScoreFn) -> NDArray[np.float32]:
    """Scores of every expert for every token."""
    if score == "softmax":
        return softmax(logits)[0]
    if score == "sigmoid":
        return _sigmoid(logits)
    return logits


def softmax(logits: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Softmax of each row and its log normaliser log Σ exp (tokens, 1), from one exp pass.

    The normaliser is bit-identical to `_log_sum_exp(logits)`: the same shift, exponentials and sum.
    """
    top = logits.max(axis=1, keepdims=True)
    shifted = logits - top
    np.exp(shifted, out=shifted)
    total = shifted.sum(axis=1, keepdims=True)
    shifted /= total
    return shifted, top + np.log(total)


def gate_weights(
    logits: NDArray[np.float32],
    experts: NDArray[np.int32],
    score: ScoreFn,
    normalize: bool,
    picked: NDArray[np.float32] | None = None,
    log_norm: NDArray[np.float32] | None = None,
) -> NDArray[np.float32]:
    """Gate weight of each chosen expert (0 where experts == -1).

    normalize=True rescales the gates of a token to sum to 1 over its chosen experts (Mixtral's softmax over
    the top-K logits; DeepSeek-V3's sigmoid gates divided by their sum). normalize=False keeps the raw
    score (softmax probability over all experts, or the sigmoid). picked: the chosen logits, when the
    caller already has them (saves a gather). log_norm: (tokens, 1) log Σ exp of the logits, when the caller
    already has it (softmax without normalize; saves an exp over all experts).
    """
    chosen = experts >= 0
    every_slot = bool(chosen.all())  # the common case needs no masking
    if picked is None:
        row_start = np.arange(0, logits.size, logits.shape[1], dtype=np.int64)[:, None]
        picked = np.take(
            logits.ravel(), (experts if every_slot else np.where(chosen, experts, 0)) + row_start
        )
    if score == "softmax":
        if normalize:
            reference = row_max(picked if every_slot else np.where(chosen, picked, -np.inf))
            reference = np.where(np.isfinite(reference), reference, 0.0)[:, None]
        else:
            reference = _log_sum_exp(logits) if log_norm is None else log_norm
        gates = np.exp(picked - reference)
    elif score == "sigmoid":
        gates = _sigmoid(picked)
    else:
        gates = picked.copy()
    gates = gates.astype(np.float32, copy=False)
    if not every_slot:
        gates[~chosen] = 0.0
    if normalize:
        total = row_sum(gates)[:, None]
        np.divide(gates, total, out=gates, where=total > 0)
    return gates


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    out = np.negative(x)
    with np.errstate(over="ignore"):  # exp overflow to inf gives the right limit, 0
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _log_sum_exp(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    top = logits.max(axis=1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
