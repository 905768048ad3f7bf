"""KV-cache size per token (DeepSeek-V2, arXiv 2405.04434, Table 1).

Elements per token: MHA 2·n_h·d_h·l, GQA 2·n_g·d_h·l, MQA 2·d_h·l, MLA (d_c + d_h^R)·l.
"""

from __future__ import annotations

from gigawatt.arch.spec import Attention, ModelSpec

BYTES_PER_ELEMENT = {"bf16": 2, "fp16": 2, "fp8": 1}


def kv_elements_per_token_layer(att: Attention) -> int:
    if att.kind == "mla":
        return att.kv_lora_rank + att.qk_rope_head_dim
    kv_heads = 1 if att.kind == "mqa" else att.kv_heads
    return 2 * kv_heads * att.head_dim


def kv_bytes_per_token(m: ModelSpec, precision: str) -> int:
    return kv_elements_per_token_layer(m.attention) * m.layers * BYTES_PER_ELEMENT[precision]


def mha_equivalent_kv_bytes_per_token(m: ModelSpec, precision: str) -> int:
    """What the cache would cost if every query head kept its own K and V (the MHA baseline)."""
    att = m.attention
    if att.kind == "mla":
        k_dim, v_dim = att.qk_nope_head_dim + att.qk_rope_head_dim, att.v_head_dim
    else:
        k_dim = v_dim = att.head_dim
    return att.heads * (k_dim + v_dim) * m.layers * BYTES_PER_ELEMENT[precision]
