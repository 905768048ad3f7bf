"""A steady serving load turned into per-clock tables the vectorised loop can index.

Each replica runs continuous batching at `batch_size` sequences; over one *cycle* it prefills
`batch_size` prompts and decodes `output_tokens` steps at the mean context. The roofline gives the
cycle's time and the compute / memory busy time at every supported clock, so the loop never calls the
roofline per GPU: it looks up its clock bin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT, kv_bytes_per_token
from gigawatt.arch.ops import ROUTED_EXPERTS, Batch, Op, forward_ops
from gigawatt.arch.params import count_params, mlp_params
from gigawatt.arch.spec import ModelSpec, load_model
from gigawatt.catalog import GpuSpec
from gigawatt.hardware.collectives import (
    INFINIBAND_ACROSS_LEAVES,
    nvlink_link,
    ring_all_reduce_time,
    send_recv_time,
)
from gigawatt.hardware.roofline import time_ops
from gigawatt.power.dvfs import clock_grid
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.links import comm_power_w, nvlink_rate
from gigawatt.scenario import Serving, SteadyServing
from gigawatt.workload.serving import paged
from gigawatt.workload.serving.iteration import COMMUNICATION_PRECISION
from gigawatt.workload.serving.memory import (
    HBM_USABLE_FRACTION,
    MAX_BATCHED_TOKENS,
    activation_reserve_bytes,
    kv_blocks_beside,
    kv_bytes_per_token_per_gpu,
    weight_bytes_per_gpu,
)


class WorkloadError(ValueError):
    """A workload that cannot run on the cluster as configured."""


@dataclass(frozen=True)
class ServingProfile:
    """Per-clock tables for one replica of `tp` GPUs (arrays indexed by clock bin, lowest clock first).

    For expert-parallel MoE serving `tp` is the expert-parallel group, and a GPU carrying `load` times
    the mean expert load needs cycle_time + (load − 1)·cycle_expert per cycle."""

    model: ModelSpec
    tp: int
    clocks: np.ndarray  # MHz
    cycle_time: np.ndarray  # s per cycle, routed experts at their mean load included
    cycle_expert: np.ndarray  # s of the cycle spent in routed experts at mean load (0 for dense models)
    capacity: np.ndarray  # output tokens/s per replica when continuously busy
    busy_power: np.ndarray  # W per GPU when continuously busy
    energy_per_token: np.ndarray  # J per output token per GPU, above idle
    compute_activity: np.ndarray  # busy fraction of the math pipes while busy
    memory_activity: np.ndarray  # busy fraction of HBM while busy
    comm_activity: np.ndarray  # share of the busy time in collectives (its link power is in busy_power)
    tokens_per_cycle: int
    input_per_output: float  # prompt tokens per output token
    kv: KvPlan  # the KV pool per GPU and the batch's mean occupancy of it

    @property
    def memory_per_gpu(self) -> float:
        """Bytes of weights + the batch's mean KV cache per GPU."""
        return self.kv.memory_per_gpu


TP_DEGREES = (1, 2, 4, 8, 16, 32, 64, 72)


@dataclass(frozen=True)
class KvPlan:
    """The paged KV pool of one GPU and what a steady batch holds of it (paged.py's rule)."""

    pool_blocks: int  # KV blocks per GPU beside the weights and activations
    mean_blocks: float  # blocks the batch holds on average: batch × one sequence's mean occupancy
    preempted_share: float  # expected share of that KV overflowing the pool, recomputed
    weight_bytes: float
    kv_bytes_per_block: float

    @property
    def fits(self) -> bool:
        return self.mean_blocks <= self.pool_blocks - paged.watermark_blocks(self.pool_blocks)

    @property
    def memory_per_gpu(self) -> float:
        return self.weight_bytes + self.mean_blocks * self.kv_bytes_per_block


def kv_plan(m: ModelSpec, w: SteadyServing, gpu: GpuSpec, tp: int, precision: str | None = None) -> KvPlan:
    """Tensor-parallel serving of `w` at degree `tp` (and `precision`, default the workload's)."""
    p = precision or w.precision
    weights = weight_bytes_per_gpu(m, p, tp, 1)
    per_token = kv_bytes_per_token_per_gpu(m, p, tp, 1)
    pool = kv_blocks_beside(
        gpu, weights, activation_reserve_bytes(m, p, tp, MAX_BATCHED_TOKENS), per_token, paged.BLOCK_TOKENS
    )
    return _plan(w, pool, weights, per_token)


def _plan(w: SteadyServing, pool: int, weights: float, per_token: float) -> KvPlan:
    bt, b = paged.BLOCK_TOKENS, w.batch_size
    occ = paged.occupancy(w.prompt_tokens, w.output_tokens, bt)
    share = paged.overflow_share(b, pool, w.prompt_tokens, w.output_tokens, bt) if pool else 1.0
    return KvPlan(pool, b * occ.mean, share, weights, bt * per_token)


def choose_tp(m: ModelSpec, w: SteadyServing, gpu: GpuSpec, gpus_per_node: int) -> int:
    if w.tensor_parallel is not None:
        tp = w.tensor_parallel
        if gpus_per_node % tp:
            raise WorkloadError(
                f"workload.tensor_parallel ({tp}) must divide cluster.gpus_per_node "
                f"({gpus_per_node}): tensor parallelism stays inside a node"
            )
        if not kv_plan(m, w, gpu, tp).fits:
            raise WorkloadError(_does_not_fit(m, w, gpu, gpus_per_node, tp))
        return tp
    for tp in (t for t in TP_DEGREES if t <= gpus_per_node and gpus_per_node % t == 0):
        if kv_plan(m, w, gpu, tp).fits:
            return tp
    raise WorkloadError(_does_not_fit(m, w, gpu, gpus_per_node, gpus_per_node))


def _does_not_fit(m: ModelSpec, w: SteadyServing, gpu: GpuSpec, gpn: int, tp: int) -> str:
    """Why the batch does not fit at `tp`, and the changes that would make it fit."""
    plan = kv_plan(m, w, gpu, tp)
    usable = HBM_USABLE_FRACTION * gpu.hbm_capacity
    hbm = gpu.hbm_capacity / 1e9
    offer = f"a {gpu.name} offers {usable / 1e9:.1f} GB ({HBM_USABLE_FRACTION:.0%} of {hbm:.0f} GB)"
    fixes = []
    if plan.pool_blocks > 0:
        most = paged.max_seqs(plan.pool_blocks, w.prompt_tokens, w.output_tokens, paged.BLOCK_TOKENS)
        if most > 0:
            fixes.append(f"lower batch_size to {most}")
        mean_tokens = plan.mean_blocks * paged.BLOCK_TOKENS
        head = (
            f"batch {w.batch_size} of {w.prompt_tokens} + {w.output_tokens}-token sequences holds "
            f"{mean_tokens / w.batch_size:.0f} KV tokens each on average (prompt + half the output), "
            f"{plan.mean_blocks * plan.kv_bytes_per_block / 1e9:.1f} GB per GPU at tensor_parallel {tp}; "
            f"beside {plan.weight_bytes / 1e9:.1f} GB of {m.name} weights in {w.precision}, {offer} "
            f"with room for {plan.pool_blocks * paged.BLOCK_TOKENS:,} KV tokens"
        )
    else:
        head = (
            f"{m.name}'s weights in {w.precision} ({plan.weight_bytes / 1e9:.1f} GB per GPU at "
            f"tensor_parallel {tp}) leave no room for KV cache: {offer}"
        )
    wider = [t for t in TP_DEGREES if t > tp and kv_plan(m, w, gpu, t).fits]
    if wider and wider[0] <= gpn and gpn % wider[0] == 0:
        fixes.append(f"raise tensor_parallel to {wider[0]}")
    elif wider:
        fixes.append(
            f"tensor_parallel {wider[0]}, which needs {wider[0]} GPUs per node "
            f"(cluster.gpus_per_node is {gpn})"
        )
    if w.precision == "bf16" and kv_plan(m, w, gpu, tp, "fp8").fits:
        fixes.append("use fp8 weights (workload.precision: fp8)")
    if not fixes:
        fixes.append("no tensor_parallel up to 72 fits: use GPUs with more memory")
    return f"{head}; {' or '.join(fixes)}"


def typical_steady_load(w: Serving, prompt_tokens: np.ndarray, output_tokens: np.ndarray) -> SteadyServing:
    """The steady load a request-driven replica looks like when saturated: max_num_seqs sequences of the
    run's mean request (used for the governor's busy-power table)."""

    def mean(tokens: np.ndarray) -> int:
        return max(1, round(float(tokens.mean()))) if tokens.size else 1

    return SteadyServing(
        kind="steady_serving",
        model=w.model,
        precision=w.precision,
        batch_size=w.scheduler.max_num_seqs,
        prompt_tokens=mean(prompt_tokens),
        output_tokens=mean(output_tokens),
        demand=1.0,
        tensor_parallel=w.tensor_parallel,
    )


def build_profile(
    w: SteadyServing, gpu: GpuSpec, gpus_per_node: int, check_fit: bool = True
) -> ServingProfile:
    """Per-clock tables for one replica: tensor-parallel dense serving, or expert-parallel MoE serving.
    `check_fit=False` takes the tensor-parallel degree as given (the caller checks memory its own way)."""
    m = load_model(w.model)
    if w.moe is not None:
        return _expert_parallel_profile(m, w, gpu, gpus_per_node)
    tp = choose_tp(m, w, gpu, gpus_per_node) if check_fit else (w.tensor_parallel or 1)
    plan = kv_plan(m, w, gpu, tp)
    link = nvlink_link(gpu.name, gpu.nvlink_bandwidth, tp, gpus_per_node)
    a = BYTES_PER_ELEMENT[COMMUNICATION_PRECISION[w.precision]]  # 16-bit activations at FP8 too

    def comm(tokens: int) -> float:
        # Two tensor-parallel all-reduces of the activations per layer (after attention and after the FFN).
        return 2 * m.layers * ring_all_reduce_time(tokens * m.hidden * a, tp, link)

    return _profile(
        m,
        w,
        gpu,
        tp,
        1,
        lambda batch: forward_ops(m, batch, tp, w.precision),
        comm,
        plan,
    )


def _profile(
    m: ModelSpec,
    w: SteadyServing,
    gpu: GpuSpec,
    group: int,
    batches: int,
    ops_of: Callable[[Batch], list[Op]],
    comm: Callable[[int], float],
    plan: KvPlan,
) -> ServingProfile:
    """Time one cycle (prefill the batch, then decode it) at every clock; routed-expert work kept apart.

    `batches` is how many batches the replica's GPUs run side by side (1 for tensor parallelism, where all
    GPUs share one batch; the group size for data-parallel attention). KV that overflows the pool is
    preempted and recomputed: the cycle prefills that share of the batch's mean KV again."""
    clocks = clock_grid(gpu)
    b, lp, lo = w.batch_size, w.prompt_tokens, w.output_tokens
    recompute = plan.preempted_share * (lp + lo / 2.0) / lp  # extra prefills per sequence
    phases = (
        (Batch(tokens=b * lp, seqs=b, query_len=lp, context=lp), 1.0 + recompute),
        (Batch(tokens=b, seqs=b, query_len=1, context=lp + lo / 2.0), lo),
    )
    shared = expert = compute_busy = memory_busy = np.zeros(len(clocks))
    comm_s = 0.0
    for batch, repeats in phases:
        ops = ops_of(batch)
        routed = [op for op in ops if op.name == ROUTED_EXPERTS]
        rest = time_ops([op for op in ops if op.name != ROUTED_EXPERTS], gpu, w.precision, clocks)
        t_exp = time_ops(routed, gpu, w.precision, clocks) if routed else None
        comm_s += repeats * comm(batch.tokens)
        shared = shared + repeats * (rest.time + comm(batch.tokens))
        expert = expert + repeats * (t_exp.time if t_exp else 0.0)
        compute_busy = compute_busy + repeats * (rest.compute_busy + (t_exp.compute_busy if t_exp else 0.0))
        memory_busy = memory_busy + repeats * (rest.memory_busy + (t_exp.memory_busy if t_exp else 0.0))
    cycle = shared + expert
    a_c, a_m, a_comm = compute_busy / cycle, memory_busy / cycle, comm_s / cycle
    busy = gpu_power(gpu, clocks, a_c, a_m) + comm_power_w(gpu, a_comm, nvlink_rate(gpu))
    capacity = batches * b * lo / cycle
    return ServingProfile(
        model=m,
        tp=group,
        clocks=clocks,
        cycle_time=cycle,
        cycle_expert=expert,
        capacity=capacity,
        busy_power=busy,
        energy_per_token=(busy - gpu.idle_power) / capacity,
        compute_activity=a_c,
        memory_activity=a_m,
        comm_activity=a_comm,
        tokens_per_cycle=batches * b * lo,
        input_per_output=lp / lo,
        kv=plan,
    )


def _expert_parallel_profile(
    m: ModelSpec, w: SteadyServing, gpu: GpuSpec, gpus_per_node: int
) -> ServingProfile:
    """Data-parallel attention and expert-parallel MoE over `ep` GPUs (the DeepSeek-V3 deployment).

    Every GPU runs the attention, dense layers and shared experts for its own sequences; the routed experts
    are spread over the ep GPUs, each holding (experts + redundant) / ep slots. At mean load a GPU computes
    batch·top_k expert assignments per step; how far each GPU is from the mean is the router's and the
    placement's doing, applied by the engine as a per-GPU load factor on the `cycle_expert` time.
    Dispatch and combine are all-to-alls per MoE layer: each token goes to the other GPUs of its node that
    hold one of its top_k experts (NVLink) and once to each remote node that does (InfiniBand); node-limited
    routing caps the remote nodes.
    """
    assert w.moe is not None
    ep, f = w.moe.expert_parallel, m.ffn
    slots = f.routed_experts + w.moe.redundant_experts
    if slots % ep:
        raise WorkloadError(
            f"workload.moe: {f.routed_experts} experts + {w.moe.redundant_experts} redundant "
            f"must divide evenly over expert_parallel {ep}"
        )
    a = BYTES_PER_ELEMENT[w.precision]
    per_expert = mlp_params(m.hidden, f.expert_intermediate, f.gated)
    counts = count_params(m)
    weights = (
        counts.total - f.routed_experts * per_expert * m.moe_layers
    ) + slots // ep * per_expert * m.moe_layers
    per_token = kv_bytes_per_token(m, w.precision)  # MLA's latent is not split: every GPU attends alone
    activations = activation_reserve_bytes(m, w.precision, 1, MAX_BATCHED_TOKENS)
    pool = kv_blocks_beside(gpu, weights * a, activations, per_token, paged.BLOCK_TOKENS)
    plan = _plan(w, pool, weights * a, per_token)
    if not plan.fits:
        usable = HBM_USABLE_FRACTION * gpu.hbm_capacity
        most = paged.max_seqs(pool, w.prompt_tokens, w.output_tokens, paged.BLOCK_TOKENS)
        fix = f"lower batch_size to {most} or raise expert_parallel" if most else "raise expert_parallel"
        kv_gb = plan.mean_blocks * plan.kv_bytes_per_block / 1e9
        raise WorkloadError(
            f"{m.name} in {w.precision} with expert_parallel {ep} holds {weights * a / 1e9:.1f} GB of "
            f"weights per GPU and, for batch {w.batch_size}, {kv_gb:.1f} GB "
            f"of KV on average (prompt + half the output), but a {gpu.name} offers {usable / 1e9:.1f} GB "
            f"with room for {pool * paged.BLOCK_TOKENS:,} KV tokens; {fix}"
        )

    nvlink = nvlink_link(gpu.name, gpu.nvlink_bandwidth, min(ep, gpus_per_node), gpus_per_node)
    per_node = min(ep, gpus_per_node)
    nodes = ep // per_node
    # Dispatch goes once to each remote node a token's top_k experts land on (then over NVLink inside it,
    # as DeepSeek-V3 does), and to each other GPU of its own node; node-limited routing caps the nodes.
    distinct_nodes = nodes * (1.0 - (1.0 - 1.0 / nodes) ** f.top_k)
    if w.moe.node_limit is not None:
        distinct_nodes = min(distinct_nodes, float(w.moe.node_limit))
    remote_nodes = distinct_nodes * (nodes - 1) / nodes
    local_gpus = per_node * (1.0 - (1.0 - 1.0 / ep) ** f.top_k) * (per_node - 1) / per_node

    def comm(tokens: int) -> float:
        intra = tokens * m.hidden * a * local_gpus
        inter = tokens * m.hidden * a * remote_nodes
        one_way = max(
            intra / (nvlink.bandwidth * nvlink.efficiency) + nvlink.latency,
            send_recv_time(inter, INFINIBAND_ACROSS_LEAVES) if nodes > 1 else 0.0,
        )
        return 2 * m.moe_layers * one_way  # dispatch and combine

    def ops_of(batch: Batch) -> list[Op]:
        ops = forward_ops(m, batch, 1, w.precision)
        group_tokens = batch.tokens * ep  # all GPUs of the replica route into the same experts
        hit = slots // ep * (1.0 - np.exp(-group_tokens * f.top_k / slots))  # Poisson hits per slot
        flops = 2.0 * batch.tokens * f.top_k * per_expert
        traffic = hit * per_expert * a + batch.tokens * f.top_k * 2 * m.hidden * a
        return [op for op in ops if op.name != ROUTED_EXPERTS] + [
            Op(ROUTED_EXPERTS, flops, traffic, m.moe_layers)
        ]

    return _profile(m, w, gpu, ep, ep, ops_of, comm, plan)
