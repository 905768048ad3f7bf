"""FLOPs and HBM bytes of one forward pass, operator by operator, per GPU of a tensor-parallel group.

Hardware-free arithmetic: `hardware.roofline` turns these into time at a clock. A batch is described
by the tokens it computes and, for attention, how many sequences read how much context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT
from gigawatt.arch.params import mlp_params
from gigawatt.arch.spec import ModelSpec

ROUTED_EXPERTS = "routed_experts"  # the operator whose per-GPU share the router and placement decide


@dataclass(frozen=True)
class Op:
    """One operator of a forward pass, per GPU; `count` identical instances (e.g. one per layer)."""

    name: str
    flops: float
    bytes: float
    count: int = 1


@dataclass(frozen=True)
class Batch:
    """One iteration of a serving engine, or one micro-batch of a training step.

    `tokens` are computed this iteration (prompt tokens of prefilling sequences plus one per decoding
    sequence); attention runs for `seqs` sequences whose queries span `query_len` tokens each and whose
    keys span `context` tokens each (causal prefill: query_len == context). Training sets `pairs`, the
    query-key pairs one GPU attends per sequence (a causal sequence split over context-parallel ranks),
    and `logit_tokens`, the tokens the LM head runs on (every token, where serving needs only the last
    position of each sequence). Any field may be an array, to evaluate many configurations at once.
    """

    tokens: int
    seqs: int
    query_len: float
    context: float
    pairs: float | None = None  # query-key pairs per sequence; default: causal over query_len and context
    logit_tokens: float | None = None  # tokens through the LM head; default: one per sequence


def _matmul(name: str, tokens: int, k: int, n: int, tp: int, w_bytes: int, a_bytes: int, count: int) -> Op:
    """A column-parallel weight GEMM [tokens × k] @ [k × n/tp] on one of `tp` ranks.

    A row-parallel GEMM (output projection, MLP down: the input is split) is the same call with k and n
    swapped: FLOPs and weight bytes are symmetric, and the activations read and written are then the
    shard's real tokens · (k/tp + n).
    """
    n_shard = n / tp
    flops = 2.0 * tokens * k * n_shard
    traffic = k * n_shard * w_bytes + tokens * (k + n_shard) * a_bytes
    return Op(name, flops, traffic, count)


def expected_experts_hit(tokens: int, top_k: int, experts: int) -> float:
    """Distinct experts touched when each token picks top_k of `experts` uniformly at random."""
    if experts == 0:
        return 0.0
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


def forward_ops(m: ModelSpec, batch: Batch, tp: int, precision: str) -> list[Op]:
    """Operators of one forward pass over `batch`, per GPU of a `tp`-way tensor-parallel group."""
    w = a = BYTES_PER_ELEMENT[precision]
    att, ffn, h, t = m.attention, m.ffn, m.hidden, batch.tokens
    ops: list[Op] = []
    layers = m.layers

    # Attention projections and core.
    if att.kind == "mla":
        qk_head = att.qk_nope_head_dim + att.qk_rope_head_dim
        if att.q_lora_rank:
            ops.append(_matmul("q_down", t, h, att.q_lora_rank, 1, w, a, layers))
            ops.append(_matmul("q_up", t, att.q_lora_rank, att.heads * qk_head, tp, w, a, layers))
        else:
            ops.append(_matmul("q_proj", t, h, att.heads * qk_head, tp, w, a, layers))
        ops.append(_matmul("kv_down", t, h, att.kv_lora_rank + att.qk_rope_head_dim, 1, w, a, layers))
        ops.extend(_mla_core(m, batch, tp, w, a))
        ops.append(_matmul("o_proj", t, h, att.heads * att.v_head_dim, tp, w, a, layers))  # row-parallel
    else:
        q_dim = att.heads * att.head_dim
        kv_heads = 1 if att.kind == "mqa" else att.kv_heads
        kv_dim = np.maximum(kv_heads, tp) * att.head_dim  # replicated below tp
        ops.append(_matmul("qkv_proj", t, h, q_dim + 2 * kv_dim, tp, w, a, layers))
        ops.append(_attention_core(m, batch, tp, a))
        ops.append(_matmul("o_proj", t, h, q_dim, tp, w, a, layers))  # row-parallel

    # Feed-forward: dense layers, then MoE layers (router, shared experts, routed experts hit).
    if m.dense_layers:
        ops.extend(_mlp("mlp", t, h, ffn.intermediate, ffn.gated, tp, w, a, m.dense_layers))
    if m.moe_layers:
        ops.append(_matmul("router", t, h, ffn.routed_experts, 1, w, a, m.moe_layers))
        if ffn.shared_experts:
            width = ffn.shared_experts * ffn.expert_intermediate
            ops.extend(_mlp("shared_expert", t, h, width, ffn.gated, tp, w, a, m.moe_layers))
        assignments = t * ffn.top_k
        hit = expected_experts_hit(t, ffn.top_k, ffn.routed_experts)
        expert_weights = hit * mlp_params(h, ffn.expert_intermediate, ffn.gated) / tp
        flops = 2.0 * assignments * mlp_params(h, ffn.expert_intermediate, ffn.gated) / tp
        traffic = expert_weights * w + assignments * (2 * h) * a
        ops.append(Op(ROUTED_EXPERTS, flops, traffic, m.moe_layers))

    # Memory-bound elementwise work per layer: two RMSNorms (read and write the hidden state) and two
    # residual adds (read two, write one); measured at 8-15 % of a layer's time on A100/A40/H100 (vidur).
    ops.append(Op("norms_residuals", 10.0 * t * h, 10 * t * h * a, layers))

    # LM head on the last position of each sequence (serving) or on every token (training).
    logits = batch.seqs if batch.logit_tokens is None else batch.logit_tokens
    ops.append(_matmul("lm_head", logits, h, m.vocab, tp, w, a, 1))
    return ops


def _mlp(name: str, t: int, h: int, width: int, gated: bool, tp: int, w: int, a: int, n: int) -> list[Op]:
    up = _matmul(f"{name}_up", t, h, (2 if gated else 1) * width, tp, w, a, n)
    act = Op(
        f"{name}_act", (4.0 if gated else 2.0) * t * width / tp, (3 if gated else 2) * t * width / tp * a, n
    )
    down = _matmul(f"{name}_down", t, h, width, tp, w, a, n)  # row-parallel
    return [up, act, down]


def _causal_pairs(batch: Batch) -> float:
    """Query-key pairs attended per sequence: a causal prefill sees half the square."""
    if batch.pairs is not None:
        return batch.pairs
    if batch.query_len >= batch.context:
        return batch.query_len * (batch.query_len + 1) / 2.0
    return batch.query_len * batch.context


def _attention_core(m: ModelSpec, batch: Batch, tp: int, a: int) -> Op:
    att = m.attention
    heads = att.heads / tp
    pairs = _causal_pairs(batch) * batch.seqs
    flops = 2.0 * 2.0 * heads * att.head_dim * pairs  # QK^T and PV
    kv_heads_per_gpu = np.maximum(1.0, (1 if att.kind == "mqa" else att.kv_heads) / tp)
    kv_read = batch.seqs * batch.context * 2 * kv_heads_per_gpu * att.head_dim * a
    q_io = batch.tokens * 2 * heads * att.head_dim * a
    return Op("attention", flops, kv_read + q_io, m.layers)


def _mla_core(m: ModelSpec, batch: Batch, tp: int, w: int, a: int) -> list[Op]:
    """MLA: decode uses absorbed weights on the latent cache; prefill decompresses K and V.

    Heads split across tensor-parallel ranks, but every rank reads the whole latent cache (it is not
    per head), which is why MLA serving pairs tensor parallelism with data-parallel attention.
    """
    att, layers, t = m.attention, m.layers, batch.tokens
    heads = att.heads / tp
    pairs = _causal_pairs(batch) * batch.seqs
    latent = att.kv_lora_rank + att.qk_rope_head_dim
    cache_read = batch.seqs * batch.context * latent * a
    kv_up_weights = att.kv_lora_rank * heads * (att.qk_nope_head_dim + att.v_head_dim) * w
    if batch.query_len < batch.context:  # decode: absorbed W_UK into q, W_UV after attention
        absorb = 2.0 * t * heads * att.kv_lora_rank * (att.qk_nope_head_dim + att.v_head_dim)
        core = 2.0 * heads * pairs * (latent + att.kv_lora_rank)
        return [Op("mla_absorb", absorb, kv_up_weights, layers), Op("attention", core, cache_read, layers)]
    decompress = 2.0 * t * att.kv_lora_rank * heads * (att.qk_nope_head_dim + att.v_head_dim)
    core = 2.0 * heads * pairs * (att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim)
    kv_io = t * heads * (att.qk_nope_head_dim + att.v_head_dim) * a
    return [
        Op("kv_up", decompress, kv_up_weights + kv_io, layers),
        Op("attention", core, cache_read + kv_io, layers),
    ]
