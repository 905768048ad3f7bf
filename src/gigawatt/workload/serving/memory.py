"""Per-GPU memory of a serving replica: weights, KV blocks, host tiers (DESIGN §4.4).

A replica is `tp` × `pp` GPUs: weights split over all of them; KV heads split across tensor-parallel
ranks up to their count (MLA's latent and MQA's single head are replicated, as in steady.py) and
layers across pipeline stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from gigawatt.arch.kv import BYTES_PER_ELEMENT, kv_bytes_per_token, mha_equivalent_kv_bytes_per_token
from gigawatt.arch.params import count_params
from gigawatt.arch.spec import ModelSpec
from gigawatt.catalog import GpuSpec

# Share of HBM a serving engine may fill with weights, activations and KV cache (vLLM's default
# gpu_memory_utilization = 0.9; the rest is the CUDA context and fragmentation).
HBM_USABLE_FRACTION = 0.9
# vLLM's default max_num_batched_tokens (SchedulerConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048): the
# profiling run that sizes the activation reserve batches this many tokens.
MAX_BATCHED_TOKENS = 2048
# One PCIe Gen4 x4 NVMe drive per GPU: DGX H100 has 8 × 3.84 TB U.2 NVMe data drives (DGX H100
# datasheet); sequential read ≈ 7 GB/s (Samsung PM1733 datasheet: 7,000 MB/s read).
NVME_BANDWIDTH = 7e9
NVME_BYTES_PER_GPU = 3.84e12
# DGX H100: 2 TB of system memory for 8 GPUs (DGX H100 datasheet).
DRAM_BYTES_PER_GPU = 2e12 / 8
# Activations held during a forward pass, per batched token: the hidden state and a few copies of it
# (residual, norm output, attention output) plus the gated MLP's up/gate output and its activation.
# Assumption, of the order vLLM's profiling run reserves; 4 hidden-widths + 3 FFN-widths per token.
ACTIVATION_HIDDEN_COPIES = 4
ACTIVATION_FFN_COPIES = 3


@dataclass(frozen=True)
class HostTiers:
    """Host memory behind each GPU of a replica: DRAM and NVMe capacity, and the NVMe bandwidth."""

    dram_bytes_per_gpu: float = DRAM_BYTES_PER_GPU
    ssd_bytes_per_gpu: float = NVME_BYTES_PER_GPU
    ssd_bandwidth: float = NVME_BANDWIDTH


def weight_bytes_per_gpu(m: ModelSpec, precision: str, tp: int, pp: int) -> float:
    return count_params(m).total * BYTES_PER_ELEMENT[precision] / (tp * pp)


def kv_bytes_per_token_per_gpu(m: ModelSpec, precision: str, tp: int, pp: int) -> float:
    att = m.attention
    kv_split = 1 if att.kind in ("mla", "mqa") else min(tp, att.kv_heads)
    return kv_bytes_per_token(m, precision) / kv_split / pp


def activation_reserve_bytes(m: ModelSpec, precision: str, tp: int, max_batched_tokens: int) -> float:
    ffn_width = max(m.ffn.intermediate, m.ffn.top_k * m.ffn.expert_intermediate) / tp
    per_token = ACTIVATION_HIDDEN_COPIES * m.hidden + ACTIVATION_FFN_COPIES * ffn_width
    return max_batched_tokens * per_token * BYTES_PER_ELEMENT[precision]


def kv_blocks_beside(
    gpu: GpuSpec, weight_bytes: float, activation_bytes: float, kv_bytes_per_token: float, block_tokens: int
) -> int:
    """KV blocks per GPU that fit in the usable HBM beside the weights and the activation reserve."""
    free = HBM_USABLE_FRACTION * gpu.hbm_capacity - weight_bytes - activation_bytes
    return max(0, int(free // (block_tokens * kv_bytes_per_token)))


def hbm_kv_blocks(
    m: ModelSpec, gpu: GpuSpec, precision: str, tp: int, pp: int, block_tokens: int, max_batched_tokens: int
) -> int:
    """KV blocks that fit in HBM after weights and activations, within the usable fraction."""
    return kv_blocks_beside(
        gpu,
        weight_bytes_per_gpu(m, precision, tp, pp),
        activation_reserve_bytes(m, precision, tp, max_batched_tokens),
        kv_bytes_per_token_per_gpu(m, precision, tp, pp),
        block_tokens,
    )


def serving_capacity(
    m: ModelSpec, gpu: GpuSpec, precision: str, tp: int, context: int, max_batched_tokens: int = 2048
) -> dict[str, float]:
    """How many KV tokens, and sequences of `context` tokens, fit in a `tp`-GPU replica beside the weights;
    and the same with an MHA-sized cache (every query head caching its own K and V), for comparison."""
    free = (
        HBM_USABLE_FRACTION * gpu.hbm_capacity
        - weight_bytes_per_gpu(m, precision, tp, 1)
        - activation_reserve_bytes(m, precision, tp, max_batched_tokens)
    )
    att = m.attention
    mha = mha_equivalent_kv_bytes_per_token(m, precision) / min(tp, att.heads)
    tokens = max(0.0, free) / kv_bytes_per_token_per_gpu(m, precision, tp, 1)
    tokens_mha = max(0.0, free) / mha
    return {
        "gpu": gpu.name,
        "tensor_parallel": tp,
        "free_hbm_bytes_per_gpu": free,
        "kv_tokens": tokens,
        "max_batch": tokens // context,
        "kv_tokens_mha_equivalent": tokens_mha,
        "max_batch_mha_equivalent": tokens_mha // context,
    }
