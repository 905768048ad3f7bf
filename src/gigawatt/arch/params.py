"""Parameter counts: total, and active per token (MoE activates shared + top-K routed experts)."""

from __future__ import annotations

from dataclasses import dataclass

from gigawatt.arch.spec import Attention, ModelSpec


def attention_params(att: Attention, hidden: int) -> int:
    """Weights of one attention block (projections and MLA's latent norms)."""
    if att.kind == "mla":
        qk_head = att.qk_nope_head_dim + att.qk_rope_head_dim
        if att.q_lora_rank:
            q = hidden * att.q_lora_rank + att.q_lora_rank + att.q_lora_rank * att.heads * qk_head
        else:
            q = hidden * att.heads * qk_head
        kv_down = hidden * (att.kv_lora_rank + att.qk_rope_head_dim) + att.kv_lora_rank
        kv_up = att.kv_lora_rank * att.heads * (att.qk_nope_head_dim + att.v_head_dim)
        out = att.heads * att.v_head_dim * hidden
        return q + kv_down + kv_up + out
    q_dim = att.heads * att.head_dim
    kv_dim = att.kv_heads * att.head_dim
    bias = (q_dim + 2 * kv_dim) if att.qkv_bias else 0
    return hidden * (q_dim + 2 * kv_dim) + bias + q_dim * hidden


def mlp_params(hidden: int, width: int, gated: bool) -> int:
    return (3 if gated else 2) * hidden * width


@dataclass(frozen=True)
class ParamCounts:
    total: int
    active: int
    embedding: int  # input embedding + LM head (counted once when tied)
    per_expert: int

    input_embedding: int = 0

    @property
    def active_without_input_embedding(self) -> int:
        """Active parameters that take part in matmuls (the input embedding is a row lookup)."""
        return self.active - self.input_embedding


def count_params(m: ModelSpec) -> ParamCounts:
    h, f = m.hidden, m.ffn
    embedding = m.vocab * h * (1 if m.tied_embeddings else 2)
    norms = 2 * h  # pre-attention and pre-FFN RMSNorm
    attn = attention_params(m.attention, h)
    dense_layer = attn + norms + mlp_params(h, f.intermediate, f.gated)
    total = embedding + h + m.dense_layers * dense_layer  # + final norm
    active = total
    per_expert = 0
    if f.kind == "moe":
        per_expert = mlp_params(h, f.expert_intermediate, f.gated)
        router = h * f.routed_experts
        common = attn + norms + router + f.shared_experts * per_expert
        total += m.moe_layers * (common + f.routed_experts * per_expert)
        active += m.moe_layers * (common + f.top_k * per_expert)
    return ParamCounts(
        total=total,
        active=active,
        embedding=embedding,
        per_expert=per_expert,
        input_embedding=0 if m.tied_embeddings else m.vocab * h,
    )
