"""A steady serving load turned into per-clock tables the vectorised loop can index.

Each replica runs continuous batching at `batch_size` sequences; over one *cycle* it prefills
`batch_size` prompts and decodes `output_tokens` steps at the mean context. The roofline gives the
cycle's time and the compute / memory busy time at every supported clock, so the loop never calls the
roofline per GPU: it looks up its clock bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT, kv_bytes_per_token
from gigawatt.arch.ops import Batch, forward_ops
from gigawatt.arch.params import count_params
from gigawatt.arch.spec import ModelSpec, load_model
from gigawatt.catalog import GpuSpec
from gigawatt.hardware.collectives import nvlink_link, ring_all_reduce_time
from gigawatt.hardware.roofline import time_ops
from gigawatt.power.dvfs import clock_grid
from gigawatt.power.gpu_power import gpu_power
from gigawatt.scenario import SteadyServing

# Share of HBM a serving engine may fill with weights and KV cache (vLLM's default
# gpu_memory_utilization = 0.9; the rest is activations, CUDA context and fragmentation).
HBM_USABLE_FRACTION = 0.9


class WorkloadError(ValueError):
    """A workload that cannot run on the cluster as configured."""


@dataclass(frozen=True)
class ServingProfile:
    """Per-clock tables for one replica of `tp` GPUs (arrays indexed by clock bin, lowest clock first)."""

    model: ModelSpec
    tp: int
    clocks: np.ndarray  # MHz
    cycle_time: np.ndarray  # s per cycle
    capacity: np.ndarray  # output tokens/s per replica when continuously busy
    busy_power: np.ndarray  # W per GPU when continuously busy
    energy_per_token: np.ndarray  # J per output token per GPU, above idle
    compute_activity: np.ndarray  # busy fraction of the math pipes while busy
    memory_activity: np.ndarray  # busy fraction of HBM while busy
    prefill_share: np.ndarray  # share of busy time in prefill
    tokens_per_cycle: int
    input_per_output: float  # prompt tokens per output token
    memory_per_gpu: float  # bytes of weights + KV cache per GPU


def _memory_per_gpu(m: ModelSpec, w: SteadyServing, tp: int) -> float:
    weights = count_params(m).total * BYTES_PER_ELEMENT[w.precision] / tp
    # KV heads split across ranks up to their count; MLA's latent cache is replicated on every rank.
    att = m.attention
    kv_split = 1 if att.kind in ("mla", "mqa") else min(tp, att.kv_heads)
    kv = w.batch_size * (w.prompt_tokens + w.output_tokens) * kv_bytes_per_token(m, w.precision) / kv_split
    return weights + kv


def choose_tp(m: ModelSpec, w: SteadyServing, gpu: GpuSpec, gpus_per_node: int) -> int:
    usable = HBM_USABLE_FRACTION * gpu.hbm_capacity
    if w.tensor_parallel is not None:
        tp = w.tensor_parallel
        if gpus_per_node % tp:
            raise WorkloadError(
                f"workload.tensor_parallel ({tp}) must divide cluster.gpus_per_node "
                f"({gpus_per_node}): tensor parallelism stays inside a node"
            )
        need = _memory_per_gpu(m, w, tp)
        if need > usable:
            raise WorkloadError(_does_not_fit(m, w, gpu, gpus_per_node, tp, need, usable))
        return tp
    for tp in (t for t in (1, 2, 4, 8, 16, 32, 64, 72) if t <= gpus_per_node and gpus_per_node % t == 0):
        if _memory_per_gpu(m, w, tp) <= usable:
            return tp
    tp = gpus_per_node
    raise WorkloadError(_does_not_fit(m, w, gpu, gpus_per_node, tp, _memory_per_gpu(m, w, tp), usable))


def _does_not_fit(
    m: ModelSpec, w: SteadyServing, gpu: GpuSpec, gpn: int, tp: int, need: float, usable: float
) -> str:
    fits = [t for t in (1, 2, 4, 8, 16, 32, 64, 72) if _memory_per_gpu(m, w, t) <= usable]
    hint = (
        f"tensor_parallel {fits[0]} would fit, which needs {fits[0]} GPUs per node (cluster has {gpn})"
        if fits
        else "no tensor-parallel degree up to 72 fits: lower batch_size or the context"
    )
    return (
        f"{m.name} in {w.precision} with batch {w.batch_size} × {w.prompt_tokens + w.output_tokens} "
        f"tokens needs {need / 1e9:.1f} GB per GPU at tensor_parallel {tp}, but a {gpu.name} offers "
        f"{usable / 1e9:.1f} GB ({HBM_USABLE_FRACTION:.0%} of {gpu.hbm_capacity / 1e9:.0f} GB); {hint}"
    )


def build_profile(w: SteadyServing, gpu: GpuSpec, gpus_per_node: int) -> ServingProfile:
    m = load_model(w.model)
    tp = choose_tp(m, w, gpu, gpus_per_node)
    clocks = clock_grid(gpu)
    b, lp, lo = w.batch_size, w.prompt_tokens, w.output_tokens
    prefill = Batch(tokens=b * lp, seqs=b, query_len=lp, context=lp)
    decode = Batch(tokens=b, seqs=b, query_len=1, context=lp + lo / 2.0)
    t_pre = time_ops(forward_ops(m, prefill, tp, w.precision), gpu, w.precision, clocks)
    t_dec = time_ops(forward_ops(m, decode, tp, w.precision), gpu, w.precision, clocks)

    # Two tensor-parallel all-reduces of the activations per layer (after attention and after the FFN).
    link = nvlink_link(gpu.name, gpu.nvlink_bandwidth, tp, gpus_per_node)
    a = BYTES_PER_ELEMENT[w.precision]

    def comm(tokens: int) -> float:
        return 2 * m.layers * ring_all_reduce_time(tokens * m.hidden * a, tp, link)

    cycle = t_pre.time + comm(b * lp) + lo * (t_dec.time + comm(b))
    compute_busy = t_pre.compute_busy + lo * t_dec.compute_busy
    memory_busy = t_pre.memory_busy + lo * t_dec.memory_busy
    a_c, a_m = compute_busy / cycle, memory_busy / cycle
    busy = gpu_power(gpu, clocks, a_c, a_m)
    capacity = b * lo / cycle
    return ServingProfile(
        model=m,
        tp=tp,
        clocks=clocks,
        cycle_time=cycle,
        capacity=capacity,
        busy_power=busy,
        energy_per_token=(busy - gpu.idle_power) / capacity,
        compute_activity=a_c,
        memory_activity=a_m,
        prefill_share=(t_pre.time + comm(b * lp)) / cycle,
        tokens_per_cycle=b * lo,
        input_per_output=lp / lo,
        memory_per_gpu=_memory_per_gpu(m, w, tp),
    )
