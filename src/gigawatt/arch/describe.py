"""What `gigawatt model NAME` prints: parameters, KV cache and FLOPs per token of a catalog model."""

from __future__ import annotations

from typing import Any

from gigawatt.arch.kv import kv_bytes_per_token, mha_equivalent_kv_bytes_per_token
from gigawatt.arch.ops import Batch, forward_ops
from gigawatt.arch.params import count_params
from gigawatt.arch.spec import ModelSpec


def flops_per_token(m: ModelSpec, context: int) -> dict[str, float]:
    """Forward FLOPs per token: prefilling a `context`-token prompt, and decoding at `context` tokens."""
    prefill = Batch(tokens=context, seqs=1, query_len=context, context=context)
    decode = Batch(tokens=1, seqs=1, query_len=1, context=context)
    total = {
        name: sum(op.flops * op.count for op in forward_ops(m, batch, 1, "bf16"))
        for name, batch in (("prefill", prefill), ("decode", decode))
    }
    return {"prefill": total["prefill"] / context, "decode": total["decode"]}


def describe(m: ModelSpec, context: int = 4096) -> dict[str, Any]:
    c = count_params(m)
    published_active = (
        c.active_without_input_embedding if m.published_active_counts == "lm_head" else c.active
    )
    kv = {p: kv_bytes_per_token(m, p) for p in ("bf16", "fp8")}
    mha = {p: mha_equivalent_kv_bytes_per_token(m, p) for p in ("bf16", "fp8")}
    out: dict[str, Any] = {
        "name": m.name,
        "source": m.source,
        "attention": m.attention.kind,
        "ffn": m.ffn.kind,
        "layers": m.layers,
        "hidden": m.hidden,
        "params_total": c.total,
        "params_active": c.active,
        "params_active_without_input_embedding": c.active_without_input_embedding,
        "kv_bytes_per_token": kv,
        "kv_bytes_per_token_mha_equivalent": mha,
        "kv_reduction_vs_mha": mha["bf16"] / kv["bf16"],
        "context_for_flops": context,
        "flops_per_token": flops_per_token(m, context),
        "published": {
            "total": m.published_total,
            "active": m.published_active,
            "source": m.published_source,
            "active_counts": m.published_active_counts,
            "total_error": (c.total / m.published_total - 1.0) if m.published_total else None,
            "active_error": (published_active / m.published_active - 1.0) if m.published_active else None,
        },
    }
    if m.ffn.kind == "moe":
        f = m.ffn
        out["moe"] = {
            "routed_experts": f.routed_experts,
            "shared_experts": f.shared_experts,
            "top_k": f.top_k,
            "expert_intermediate": f.expert_intermediate,
            "first_dense_layers": f.first_dense_layers,
            "groups": f.groups,
            "topk_groups": f.topk_groups,
            "scoring": f.scoring,
            "params_per_expert": c.per_expert,
        }
    return out
