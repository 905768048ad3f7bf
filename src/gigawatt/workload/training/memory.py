"""Memory per GPU of a training configuration (DESIGN §4.7), on its most loaded pipeline stage.

- Model state per parameter (mixed-precision Adam, bf16 weights with fp32 main gradients, Megatron-LM's
  default for bf16 training): weight 2 B, gradient 4 B, fp32 master weight and two Adam moments 12 B —
  18 B, or 6 + 12/d B with the distributed optimizer over d ranks (Megatron-LM docs, "Distributed
  Optimizer", bytes-per-parameter table). ZeRO stage 1 shards the 12 B, stage 2 the gradients too, stage 3
  the weights too (Rajbhandari et al., arXiv 1910.02054). Dense weights are replicated over data × context
  ranks; routed experts over (tensor × context × data) / expert ranks.
- Activations per layer and micro-batch follow Korthikanti et al. (arXiv 2205.05198) for a modern layer:
  no dropout, FlashAttention (no score matrix kept), sequence parallelism wherever tensor parallelism is
  used (every stored tensor split over the TP ranks). Kept per token: the layer input, the two norm
  outputs, Q, K, V, the attention output, the residual, and the FFN's gate, up and activation outputs
  (for MoE layers, every routed copy of the token). `selective` recomputes the norms and the FFN
  activation in the backward pass (cheap elementwise work) and keeps the rest; `full` keeps only each
  layer's input and recomputes the layer.
- In flight: with 1F1B the first stage holds activations of min(p, m) micro-batches; the interleaved
  schedule multiplies that by 1 + (p − 1)/(p·v) (Korthikanti et al. §4.2.3). The last stage also keeps
  the fp32 logits of a micro-batch for the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.arch.params import count_params
from gigawatt.arch.spec import ModelSpec
from gigawatt.workload.training.configs import Configs, Job, edge_stage_layers, param_split

WEIGHT_BYTES = 2
GRAD_BYTES = 4
OPTIMIZER_BYTES = 12
ACTIVATION_BYTES = 2  # bf16 activations (fp8 recipes keep bf16 copies for the backward pass)
LOGIT_BYTES = 4  # fp32 logits for the loss

# Room PyTorch leaves: the CUDA context, NCCL buffers and cuBLAS/Transformer Engine workspaces take a few GB
# (assumption: 4 GB), and the caching allocator fragments what is left (assumption: 5 % unusable).
RESERVED_BYTES = 4e9
ALLOCATOR_USABLE = 0.95


def usable_bytes(hbm_capacity: float) -> float:
    return ALLOCATOR_USABLE * hbm_capacity - RESERVED_BYTES


@dataclass(frozen=True)
class Memory:
    """Bytes per GPU on the most loaded stage (arrays over configurations)."""

    weights: np.ndarray
    gradients: np.ndarray
    optimizer: np.ndarray
    activations: np.ndarray  # activations held in flight, logits included
    total: np.ndarray
    usable: float

    @property
    def fits(self) -> np.ndarray:
        return self.total <= self.usable

    def breakdown(self, i: int = 0) -> dict[str, float]:
        return {
            "weights": float(self.weights[i]),
            "gradients": float(self.gradients[i]),
            "optimizer": float(self.optimizer[i]),
            "activations": float(self.activations[i]),
            "total": float(self.total[i]),
            "usable": self.usable,
        }


def activation_elements(m: ModelSpec, tp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elements kept per token per layer on one GPU of `tp`, averaged over the model's layers:
    (no recompute, selective, full)."""
    att, f, h = m.attention, m.ffn, m.hidden
    if att.kind == "mla":
        qk = att.qk_nope_head_dim + att.qk_rope_head_dim
        qkv = att.heads * (2 * qk + att.v_head_dim) / tp + att.kv_lora_rank + (att.q_lora_rank or 0)
        attn_out = att.heads * att.v_head_dim / tp
    else:
        kv_heads = 1 if att.kind == "mqa" else att.kv_heads
        qkv = h / tp + 2 * np.maximum(kv_heads / tp, 1.0) * att.head_dim
        attn_out = h / tp
    gated = 3 if f.gated else 2  # gate, up and activation outputs (fc1 and activation without a gate)
    dense_ffn = gated * f.intermediate / tp
    moe_ffn = gated * (f.top_k + f.shared_experts) * f.expert_intermediate / tp + 2 * f.top_k * h / tp
    ffn = (m.dense_layers * dense_ffn + m.moe_layers * moe_ffn) / m.layers
    ffn_recomputed = ffn / gated  # the activation output is recomputed by `selective`
    hidden = h / tp  # one hidden-sized tensor, split over TP by sequence parallelism
    none = 4 * hidden + qkv + attn_out + ffn  # input, 2 norm outputs, residual; Q/K/V; attention out; FFN
    selective = 2 * hidden + qkv + attn_out + ffn - ffn_recomputed
    return none, selective, np.broadcast_to(hidden, np.shape(none)).astype(float)


def memory_per_gpu(job: Job, cfg: Configs) -> Memory:
    m = job.model
    split = param_split(m)
    tp, cp, pp, dp, ep = cfg.tp, cfg.cp, cfg.pp, cfg.dp, cfg.ep
    n_first, n_mid, n_last = edge_stage_layers(m.layers, pp)

    def params(n: np.ndarray, first: np.ndarray | bool, last: np.ndarray | bool) -> tuple[np.ndarray, ...]:
        dense = n * split.dense_per_layer / tp + first * split.embedding / tp + last * split.head / tp
        experts = n * split.experts_per_layer / ep
        return dense, experts

    dense_shard = dp * cp
    expert_shard = np.maximum(tp * cp * dp // ep, 1)
    zero = cfg.zero

    def state(dense: np.ndarray, experts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def shard(stage: int, values: np.ndarray, d: np.ndarray) -> np.ndarray:
            return np.where(zero >= stage, values / d, values)

        weights = shard(3, dense, dense_shard) + shard(3, experts, expert_shard)
        grads = shard(2, dense, dense_shard) + shard(2, experts, expert_shard)
        opt = shard(1, dense, dense_shard) + shard(1, experts, expert_shard)
        return weights * WEIGHT_BYTES, grads * GRAD_BYTES, opt * OPTIMIZER_BYTES

    tokens = cfg.mb * job.sequence_length / cp
    none, selective, full = activation_elements(m, tp)
    per_layer = np.choose(cfg.recompute, [none, selective, full]) * tokens * ACTIVATION_BYTES
    # Full recompute rebuilds one layer's activations at a time in the backward pass.
    rebuilt = np.where(cfg.recompute == 2, none * tokens * ACTIVATION_BYTES, 0.0)
    in_flight = np.minimum(pp, cfg.micro_batches(job)) * np.where(
        cfg.v > 1, 1.0 + (pp - 1) / (pp * cfg.v), 1.0
    )
    logits = tokens * m.vocab / tp * LOGIT_BYTES

    stages = (
        (n_first, True, pp == 1, in_flight),  # the first stage: embedding, the most micro-batches in flight
        (n_mid, False, False, np.maximum(in_flight - 1, 1)),
        (n_last, pp == 1, True, np.ones_like(in_flight)),
    )
    best = None
    for n, first, last, flight in stages:
        w, g, o = state(*params(n, first, last))
        act = n * per_layer * flight + rebuilt + np.where(last, logits, 0.0)
        # ZeRO-3 gathers a layer's weights ahead of use (and prefetches the next one).
        w = w + np.where(zero == 3, 2 * split.dense_per_layer / tp * WEIGHT_BYTES, 0.0)
        total = w + g + o + act
        if best is None:
            best = (w, g, o, act, total)
        else:
            more = total > best[4]
            new = (w, g, o, act, total)
            best = tuple(np.where(more, a, b) for a, b in zip(new, best, strict=True))
    assert best is not None
    w, g, o, act, total = best
    return Memory(w, g, o, act, total, usable_bytes(job.gpu.hbm_capacity))


def checkpoint_bytes_per_gpu(job: Job, cfg: Configs) -> float:
    """Bytes each GPU writes per checkpoint, on average: the bf16 weights and the fp32 optimizer state
    (master weights and both moments), each written once across the data-parallel copies (a distributed
    checkpoint), so the whole checkpoint is 14 bytes per parameter."""
    return float(count_params(job.model).total * (WEIGHT_BYTES + OPTIMIZER_BYTES) / cfg.gpus[0])
