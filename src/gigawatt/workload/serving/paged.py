"""Paged KV allocation as vLLM does it, one rule for the steady, fluid and request-level models.

PagedAttention (Kwon et al., SOSP'23, arXiv 2309.06180 §4) keeps each sequence's KV cache in fixed blocks
of `block_tokens` tokens, allocated on demand as the sequence grows; nothing is reserved for output not
yet generated. A waiting sequence is admitted while the free blocks cover its prompt and still leave a
watermark (vLLM's BlockSpaceManager: `num_free_gpu_blocks - num_required_blocks >= watermark_blocks`,
watermark 0.01 of the GPU blocks); when a running sequence needs a block and none is free, the most
recently admitted sequence is preempted (recomputed, or swapped out).

Over its life a sequence of `prompt` + `output` tokens therefore holds, on average, its prompt plus
half its output (rounded up to whole blocks), not the full prompt + output: that mean sets how many
sequences a replica keeps in flight. The request-level replica runs the rule block by block; the
steady and fluid models use its averages here, with the same block size, watermark and KV bytes.

Preemption in the averaged models: with N sequences at independent, uniformly spread points of their
lives, the blocks held are a sum of N independent terms (normal approximation); the expected excess
over the pool, E[(S − C)+], is KV that must be thrown away and recomputed. It is zero (to rounding)
while the pool holds the mean plus a few standard deviations and grows as the tail overflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import erf, exp, pi, sqrt

import numpy as np

# vLLM's default KV block size on CUDA (CacheConfig.block_size = 16 tokens; PagedAttention §7.2 found
# 16 a good trade-off between GPU utilisation and internal fragmentation).
BLOCK_TOKENS = 16
# vLLM BlockSpaceManager(watermark=0.01): a new sequence is admitted only if the free blocks left after
# its prompt are at least 1% of the GPU blocks, so running sequences can grow without instant preemption.
WATERMARK = 0.01


def watermark_blocks(total_blocks: int) -> int:
    return int(WATERMARK * total_blocks)


def blocks_for(tokens: np.ndarray | int, block_tokens: int) -> np.ndarray | int:
    return -(-tokens // block_tokens)


def admits(free_blocks: int, prompt_blocks: int, total_blocks: int) -> bool:
    """vLLM's admission rule: the prompt's blocks fit and leave the watermark free."""
    return free_blocks - prompt_blocks >= watermark_blocks(total_blocks)


@dataclass(frozen=True)
class Occupancy:
    """Blocks one sequence holds over its life: mean and variance over its `output` iterations."""

    mean: float
    var: float


def occupancy(prompt: float, output: float, block_tokens: int) -> Occupancy:
    """A sequence holds ceil((prompt + g) / block) blocks at its g-th iteration, g = 0 … output − 1
    (prefill writes the prompt, each decode one more token)."""
    g = np.arange(max(1, round(output)))
    held = np.ceil((prompt + g) / block_tokens)
    return Occupancy(float(held.mean()), float(held.var()))


def max_seqs(total_blocks: int, prompt: float, output: float, block_tokens: int) -> int:
    """Sequences a pool of `total_blocks` keeps in flight on average: the pool above the watermark over
    one sequence's mean occupancy."""
    usable = total_blocks - watermark_blocks(total_blocks)
    return int(usable // occupancy(prompt, output, block_tokens).mean)


def overflow_share(n: float, total_blocks: int, prompt: float, output: float, block_tokens: int) -> float:
    """Expected share of the KV held by `n` sequences that overflows a pool of `total_blocks` and is
    preempted for recomputation: E[(S − C)+] / E[S] with S ~ Normal(n·mean, n·var)."""
    occ = occupancy(prompt, output, block_tokens)
    mu, sd = n * occ.mean, sqrt(n * occ.var)
    if mu <= 0:
        return 0.0
    if sd == 0:
        return max(mu - total_blocks, 0.0) / mu
    z = (mu - total_blocks) / sd
    cdf = 0.5 * (1.0 + erf(z / sqrt(2.0)))
    pdf = exp(-0.5 * z * z) / sqrt(2.0 * pi)
    return ((mu - total_blocks) * cdf + sd * pdf) / mu
