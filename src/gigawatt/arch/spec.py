"""Model architecture specifications (hardware-free), read from the model catalog."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from gigawatt.catalog import CatalogError, model_entry

AttentionKind = Literal["mha", "gqa", "mqa", "mla"]


@dataclass(frozen=True)
class Attention:
    kind: AttentionKind
    heads: int
    kv_heads: int = 0  # mha/gqa/mqa
    head_dim: int = 0  # mha/gqa/mqa
    q_lora_rank: int | None = None  # mla: query latent rank (None = no query compression)
    kv_lora_rank: int = 0  # mla: d_c, the cached latent
    qk_nope_head_dim: int = 0  # mla
    qk_rope_head_dim: int = 0  # mla: d_h^R, the shared decoupled RoPE key, also cached
    v_head_dim: int = 0  # mla
    qkv_bias: bool = False


@dataclass(frozen=True)
class Ffn:
    kind: Literal["dense", "moe"]
    intermediate: int  # dense layers' width
    gated: bool = True  # SwiGLU: gate, up and down projections
    first_dense_layers: int = 0  # moe: leading layers that stay dense
    expert_intermediate: int = 0
    shared_experts: int = 0
    routed_experts: int = 0
    top_k: int = 0
    groups: int = 1
    topk_groups: int = 1
    scoring: Literal["softmax", "sigmoid"] = "softmax"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    layers: int
    hidden: int
    vocab: int
    attention: Attention
    ffn: Ffn
    tied_embeddings: bool
    source: str
    published_total: float | None = None
    published_active: float | None = None
    published_source: str = ""
    published_active_counts: str = "embedding_and_lm_head"

    @property
    def moe_layers(self) -> int:
        return self.layers - self.ffn.first_dense_layers if self.ffn.kind == "moe" else 0

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers


@cache
def load_model(name: str) -> ModelSpec:
    key, entry = model_entry(name)
    try:
        return _parse(key, entry)
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"model catalog entry {key!r} is malformed: {exc}") from exc


def _parse(key: str, entry: dict[str, Any]) -> ModelSpec:
    att = dict(entry["attention"])
    qkv_bias = bool(att.pop("qkv_bias", entry.get("qkv_bias", False)))
    attention = Attention(**att, qkv_bias=qkv_bias)
    if attention.kind == "mha" and attention.kv_heads == 0:
        attention = Attention(**{**att, "kv_heads": attention.heads}, qkv_bias=qkv_bias)
    ffn = Ffn(**entry["ffn"])
    published = entry.get("published", {})
    return ModelSpec(
        name=key,
        layers=int(entry["layers"]),
        hidden=int(entry["hidden"]),
        vocab=int(entry["vocab"]),
        attention=attention,
        ffn=ffn,
        tied_embeddings=bool(entry.get("tied_embeddings", False)),
        source=entry["source"],
        published_total=_number(published.get("total")),
        published_active=_number(published.get("active")),
        published_source=published.get("source", ""),
        published_active_counts=published.get("active_counts", "embedding_and_lm_head"),
    )


def _number(value: Any) -> float | None:
    """YAML 1.1 reads `671e9` (no decimal point) as a string; accept both spellings."""
    return None if value is None else float(value)
