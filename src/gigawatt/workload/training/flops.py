"""Model FLOPs per token, the numerator of model FLOPs utilisation (MFU).

Large-run reports count 6·N per token for the weights (forward 2·N, backward 4·N) plus attention; they
differ on attention: FlashAttention-style counts only the causal half of the score matrix, Megatron-LM
and PaLM count all of it (Chowdhery et al., arXiv 2204.02311, App. B: 6N + 12·L·H·Q·T). Recomputation is
never counted (that would be hardware FLOPs). Here: three times the forward pass's GEMM and attention
FLOPs from `arch.ops.forward_ops` — weights, LM head, routed experts at top-k — causal unless asked.
"""

from __future__ import annotations

from gigawatt.arch.ops import Batch, forward_ops
from gigawatt.arch.spec import ModelSpec

ELEMENTWISE_OPS = ("norms_residuals",)


def model_flops_per_token(m: ModelSpec, sequence_length: int, causal: bool = True) -> float:
    s = sequence_length
    pairs = s * (s + 1) / 2.0 if causal else float(s * s)
    batch = Batch(tokens=s, seqs=1, query_len=s, context=s, pairs=pairs, logit_tokens=s)
    forward = sum(
        float(op.flops) * op.count
        for op in forward_ops(m, batch, 1, "bf16")
        if op.name not in ELEMENTWISE_OPS and not op.name.endswith("_act")
    )
    return 3.0 * forward / s
