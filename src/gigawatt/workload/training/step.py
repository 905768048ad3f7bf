"""Step time of synchronous 4D-parallel training, from first principles at any clock (DESIGN §4.7).

Per micro-batch, one GPU of a pipeline stage runs its layers forward and backward. Operators come from
`arch.ops.forward_ops` (FLOPs and HBM bytes per GPU of a tensor-parallel group, attention causal over the
GPU's share of each sequence) and are timed by the fitted roofline at the clock. The backward pass costs
twice the forward (input and weight gradients), FlashAttention's backward 2.5 times its forward (it
recomputes the scores: 5 matrix products against 2; Dao, arXiv 2307.08691); full recomputation adds
a forward of every layer, selective recomputation a forward of its norms and FFN activation. Sequence
parallelism splits the norms and residuals over the tensor-parallel ranks. FlashAttention runs at its own
measured share of the peak (catalog/kernels.yaml), FP8 GEMMs at a fitted share of the bf16 efficiency
(catalog/training_calibration.yaml).

Communication, each over its own group on the NVLink domain or the fabric (`hardware.fabric`):
- TP: with sequence parallelism an all-gather and a reduce-scatter of the layer's activations before and
  after attention and the FFN — the volume of two all-reduces forward, two backward (two more when
  recomputing in full); hidden behind the GEMMs when overlapped.
- CP: the K/V of the whole sequence gathered over the context-parallel ring forward, gathered again and
  the K/V gradients reduce-scattered backward; hidden behind attention when overlapped.
- EP: dispatch and combine all-to-alls per MoE layer forward, and again backward; hidden behind another
  micro-batch's computation when overlapped (DualPipe).
- PP: each stage sends its activations forward and their gradients back per micro-batch; overlapped,
  only the pipeline's fill and drain wait for them.
- DP: per step, a reduce-scatter of the fp32 gradients and an all-gather of the updated bf16 weights over
  the data × context ranks (an all-reduce without ZeRO); ZeRO-3 gathers the weights for every
  micro-batch's forward and backward. Overlapped, they hide behind the last micro-batch's backward and the
  first one's forward (spread over the pipeline's drain and fill when the schedule is interleaved).

The pipeline runs m micro-batches over p stages, v model chunks per rank: its time is m·max(T_s) plus the
fill and drain, (ΣT_s − max T_s)/v — the 1F1B bubble (p − 1)/(v·m) of Narayanan et al. (arXiv 2104.04473)
when stages are equal. The optimizer then updates each GPU's shard, memory-bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT
from gigawatt.arch.ops import ROUTED_EXPERTS, Batch, Op, forward_ops
from gigawatt.arch.params import mlp_params
from gigawatt.arch.spec import ModelSpec
from gigawatt.catalog import _load
from gigawatt.hardware.collectives import (
    Link,
    nvlink_link,
    ring_all_gather_time,
    ring_all_reduce_time,
)
from gigawatt.hardware.fabric import Dims, Fabric, nic
from gigawatt.hardware.roofline import efficiency, fp8_gemm_ratio, op_times
from gigawatt.power.gpu_power import gpu_power
from gigawatt.workload.training.configs import Configs, Job, edge_stage_layers, param_split
from gigawatt.workload.training.memory import GRAD_BYTES, WEIGHT_BYTES

# Backward / forward work of an operator: input and weight gradients for matrix products and elementwise
# work; FlashAttention's backward runs 5 matrix products against the forward's 2.
BACKWARD_FACTOR = 2.0
ATTENTION_BACKWARD_FACTOR = 2.5
# Adam's update reads the fp32 master weight, both moments and the fp32 gradient, and writes the three
# fp32 states and the bf16 weight: 16 + 14 bytes per parameter of the GPU's shard.
OPTIMIZER_TRAFFIC_BYTES = 30.0
# Loss: the fp32 logits are written, read for the softmax and read again for their gradient (bf16 out).
LOSS_TRAFFIC_BYTES = 14.0
ELEMENTWISE = ("norms_residuals",)  # split over the TP ranks by sequence parallelism
BF16_GEMMS = ("lm_head", "router")  # kept in bf16 by FP8 recipes


@cache
def attention_efficiency(gpu_name: str) -> float:
    """FlashAttention's achieved share of the bf16 peak (catalog/kernels.yaml)."""
    entries = _load("kernels.yaml")["attention"]
    return float(entries.get(gpu_name, entries["default"])["value"])


def _is_gemm(name: str) -> bool:
    return name not in ("attention", *ELEMENTWISE) and not name.endswith("_act")


def _selectively_recomputed(name: str) -> bool:
    """Does selective recomputation run this operator's forward again in the backward pass? (Full
    recomputation reruns every one.)"""
    return name in ELEMENTWISE or name.endswith("_act")


@dataclass(frozen=True)
class Work:
    """Seconds on one GPU, arrays over (configurations, clocks): wall time, math pipes busy, HBM busy."""

    time: np.ndarray
    compute: np.ndarray
    memory: np.ndarray

    def __add__(self, other: Work) -> Work:
        return Work(self.time + other.time, self.compute + other.compute, self.memory + other.memory)

    def __mul__(self, factor: np.ndarray | float) -> Work:
        return Work(self.time * factor, self.compute * factor, self.memory * factor)

    __rmul__ = __mul__


def fabric_of(job: Job) -> Fabric:
    net, gpu, gpn = job.network, job.gpu, job.gpus_per_node
    return Fabric(
        nic=nic(net.nic),
        gpus_per_node=gpn,
        nodes_per_leaf=net.nodes_per_leaf,
        nodes_per_pod=net.nodes_per_pod or 1 << 40,
        spine_oversubscription=net.spine_oversubscription,
        core_oversubscription=net.core_oversubscription,
        nvlink=nvlink_link(gpu.name, gpu.nvlink_bandwidth, gpn, gpn),
    )


@cache
def _group_link(fabric: Fabric, dims: Dims) -> Link:
    return fabric.link(dims)


def _links(fabric: Fabric, groups: list[Dims]) -> tuple[np.ndarray, np.ndarray]:
    """Per-rank bandwidth (efficiency folded in) and step latency of each group."""
    links = [_group_link(fabric, tuple((int(s), int(d)) for s, d in g)) for g in groups]
    return (
        np.array([lk.bandwidth * lk.efficiency for lk in links]),
        np.array([lk.latency for lk in links]),
    )


@dataclass(frozen=True)
class StepModel:
    """A training step of each configuration at each clock (arrays shaped (configurations, clocks))."""

    job: Job
    cfg: Configs
    clocks: np.ndarray  # MHz: one grid for all configurations, or (configurations, 1)
    layer_forward: Work  # one average layer, one micro-batch, compute only
    layer_backward: Work  # its backward, recomputation included
    head: Work  # LM head and loss, forward and backward, one micro-batch (last stage)
    layer_comm: np.ndarray  # exposed TP/CP/EP communication per layer and micro-batch (s)
    stage_send: np.ndarray  # exposed stage-to-stage sends per stage and micro-batch (s)
    fill_drain_send: np.ndarray  # sends the pipeline's fill and drain wait for, per step (s)
    dp_exposed: np.ndarray  # data-parallel communication not hidden, per step (s)
    optimizer: Work  # the optimizer step on the GPU's shard
    micro_batches: np.ndarray  # (configurations, 1)
    comm: dict[str, np.ndarray] = field(default_factory=dict)  # exposed seconds per step by kind
    comm_total: dict[str, np.ndarray] = field(default_factory=dict)  # exposed and hidden, by kind

    def busy_power(self) -> np.ndarray:
        """Power (W) of a GPU running the layers' kernels, at each clock, made non-decreasing in the clock.
        The power limiter acts on the kernels' own draw: communication waits between kernels lower the
        average a tick sees, not the clock the limiter allows (an assumption on its control window)."""
        work = self.layer_forward + self.layer_backward
        power = gpu_power(self.job.gpu, self.clocks, work.compute / work.time, work.memory / work.time)
        return np.maximum.accumulate(power, axis=-1)

    def stage(self, layers: np.ndarray, last: np.ndarray | bool) -> Work:
        """One micro-batch, forward and backward, on a stage of `layers` layers (per configuration)."""
        n = np.asarray(layers, dtype=float).reshape(-1, 1)
        work = (self.layer_forward + self.layer_backward) * n + self.head * np.asarray(last).reshape(-1, 1)
        return Work(work.time + self.stage_comm(layers), work.compute, work.memory)

    def stage_comm(self, layers: np.ndarray) -> np.ndarray:
        """Seconds of a stage's micro-batch (per configuration) in exposed TP/CP/EP collectives and sends."""
        return np.asarray(layers, dtype=float).reshape(-1, 1) * self.layer_comm + self.stage_send

    def pipeline_time(self, stage_times: np.ndarray) -> np.ndarray:
        """m·max(T_s) + (ΣT_s − max T_s)/v + the fill's and drain's sends, over the stage axis (−2)."""
        longest = stage_times.max(axis=-2)
        return self._pipeline(longest, stage_times.sum(axis=-2))

    def _pipeline(self, longest: np.ndarray, total: np.ndarray) -> np.ndarray:
        v = self.cfg.v.reshape(-1, 1)
        return self.micro_batches * longest + (total - longest) / v + self.fill_drain_send

    def step_time(self) -> np.ndarray:
        """Seconds per step with every GPU at the same clock, for each configuration and clock."""
        m, pp = self.job.model, self.cfg.pp
        n_first, n_mid, n_last = edge_stage_layers(m.layers, pp)
        single = pp == 1
        first = self.stage(n_first, single).time
        last = self.stage(n_last, True).time
        middle = self.stage(n_mid, False).time
        longest = np.maximum(first, np.where(single.reshape(-1, 1), 0.0, last))
        longest = np.maximum(longest, np.where((pp >= 3).reshape(-1, 1), middle, 0.0))
        total = self.stage(np.full_like(pp, m.layers), True).time + (pp - 1).reshape(-1, 1) * self.stage_send
        return self._pipeline(longest, total) + self.tail()

    def tail(self) -> np.ndarray:
        """What follows the pipeline: exposed data-parallel communication and the optimizer."""
        return self.dp_exposed + self.optimizer.time


def step_model(job: Job, cfg: Configs, clocks: np.ndarray, fp8_efficiency: float | None = None) -> StepModel:
    m, gpu = job.model, job.gpu
    clocks = np.asarray(clocks, dtype=float)
    # One clock grid shared by every configuration, or (configurations, 1): each at its own clock.
    clocks = clocks if clocks.ndim == 2 else np.atleast_1d(clocks).reshape(1, -1)
    tp, cp, pp, dp, ep = (x.reshape(-1, 1).astype(float) for x in (cfg.tp, cfg.cp, cfg.pp, cfg.dp, cfg.ep))
    mb = cfg.mb.reshape(-1, 1).astype(float)
    v = cfg.v.reshape(-1, 1).astype(float)
    s = float(job.sequence_length)
    a = BYTES_PER_ELEMENT["bf16"]
    h = m.hidden
    tokens = mb * s / cp  # tokens of one micro-batch on one GPU's share of the sequence
    eff = efficiency(gpu.name)
    # FP8 GEMMs (Transformer Engine: scaled casts, amax bookkeeping) reach a smaller share of their peak than
    # bf16 ones of theirs; the LM head and the router stay in bf16, as FP8 recipes keep them.
    ratio = fp8_gemm_ratio(gpu.name) if fp8_efficiency is None else fp8_efficiency
    fp8 = replace(eff, compute=eff.compute * ratio)
    flash = replace(eff, compute=attention_efficiency(gpu.name))

    batch = Batch(
        tokens=tokens, seqs=mb, query_len=s, context=s, pairs=s * (s + 1) / 2.0 / cp, logit_tokens=tokens
    )
    ops = forward_ops(m, batch, tp, "bf16")
    ops = [_training_op(op, m, tokens, tp, ep) for op in ops]

    def timed(op: Op, precision: str) -> Work:
        kernel = flash if op.name == "attention" else fp8 if precision == "fp8" else eff
        t, t_c, t_m = op_times(op.flops, op.bytes, gpu, precision, clocks, kernel)
        return Work(t, t_c, t_m)

    recompute = np.asarray(cfg.recompute).reshape(-1, 1)
    shape = (len(cfg), clocks.shape[1])
    nothing = Work(np.zeros(shape), np.zeros(shape), np.zeros(shape))
    fwd = bwd = gemm_fwd = gemm_bwd = attn_fwd = head = nothing
    for op in ops:
        precision = job.precision if _is_gemm(op.name) and op.name not in BF16_GEMMS else "bf16"
        work = timed(op, precision)
        if op.name == "lm_head":
            head = work * (1.0 + BACKWARD_FACTOR)
            continue
        per_layer = op.count / m.layers
        back = ATTENTION_BACKWARD_FACTOR if op.name == "attention" else BACKWARD_FACTOR
        redo = np.choose(recompute, [0.0, float(_selectively_recomputed(op.name)), 1.0])
        fwd = fwd + work * per_layer
        bwd = bwd + work * (per_layer * back) + work * (per_layer * redo)
        if _is_gemm(op.name):
            gemm_fwd = gemm_fwd + work * per_layer
            gemm_bwd = gemm_bwd + work * (per_layer * back)
        if op.name == "attention":
            attn_fwd = attn_fwd + work * per_layer
    # The loss: memory-bound passes over the micro-batch's fp32 logits.
    loss_bytes = tokens * m.vocab / tp * LOSS_TRAFFIC_BYTES
    head = head + timed(Op("loss", 0.0, loss_bytes), "bf16")

    fabric = fabric_of(job)
    strides = cfg.strides()
    comm: dict[str, np.ndarray] = {}
    micro = cfg.micro_batches(job).reshape(-1, 1).astype(float)

    # Tensor parallelism: 2 all-reduce volumes forward, 2 backward (+2 when recomputing in full).
    t_ar = np.zeros_like(tokens)
    for t_val in np.unique(cfg.tp):
        link = nvlink_link(gpu.name, gpu.nvlink_bandwidth, int(t_val), job.gpus_per_node)
        t_ar = np.where(tp == t_val, ring_all_reduce_time(tokens * h * a, int(t_val), link), t_ar)
    tp_fwd = 2.0 * t_ar
    tp_bwd = 2.0 * t_ar + np.where(recompute == 2, 2.0 * t_ar, 0.0)
    if job.overlap.tensor_parallel:
        tp_exposed = np.maximum(0.0, tp_fwd - gemm_fwd.time) + np.maximum(0.0, tp_bwd - gemm_bwd.time)
    else:
        tp_exposed = np.broadcast_to(tp_fwd + tp_bwd, fwd.time.shape)

    # Context parallelism: K/V of the whole sequence over the CP ring.
    kv = _kv_bytes_per_token(m, tp) * mb * s
    cp_bw, cp_lat = _links(fabric, [((c, st),) for c, st in zip(cfg.cp, strides["cp"], strict=True)])
    cp_link_time = ring_all_gather_time(kv, cp, cp_bw.reshape(-1, 1), cp_lat.reshape(-1, 1))
    cp_fwd, cp_bwd = cp_link_time, 2.0 * cp_link_time
    if job.overlap.context_parallel:
        cp_exposed = np.maximum(0.0, cp_fwd - attn_fwd.time) + np.maximum(
            0.0, cp_bwd - ATTENTION_BACKWARD_FACTOR * attn_fwd.time
        )
    else:
        cp_exposed = np.broadcast_to(cp_fwd + cp_bwd, fwd.time.shape)

    # Expert parallelism: dispatch + combine, forward and backward, per MoE layer.
    ep_time = ep_total = np.zeros_like(tp)
    if m.moe_layers:
        a2a_bytes = tokens / tp * m.ffn.top_k * h * a
        groups = _ep_groups(cfg, strides)
        times = np.array([fabric.all_to_all_time(1.0, g) for g in groups]).reshape(-1, 1)
        # all_to_all_time is affine in the bytes: t(S) = S·slope + latency.
        latency = np.array([fabric.all_to_all_time(0.0, g) for g in groups]).reshape(-1, 1)
        one = a2a_bytes * (times - latency) + latency * (ep > 1)
        ep_time = ep_total = 4.0 * one * m.moe_layers / m.layers
        if job.overlap.expert_parallel:  # hidden behind the layer's computation where it is long enough
            ep_time = np.maximum(0.0, ep_time - (fwd.time + bwd.time))
    layer_comm = tp_exposed + cp_exposed + ep_time

    # Pipeline: activations (split by sequence parallelism) forward, their gradients back.
    p2p_bw, p2p_lat = _p2p(fabric, strides["pp"])
    send = (tokens * h * a / tp) / p2p_bw.reshape(-1, 1) + p2p_lat.reshape(-1, 1)
    send = np.where(pp > 1, send, 0.0)
    if job.overlap.pipeline_parallel:
        stage_send = np.zeros_like(send)
        fill_drain = 2.0 * (pp - 1) * send
    else:
        stage_send = 2.0 * v * send
        fill_drain = 2.0 * (pp - 1) * send

    # Data parallelism over data × context ranks (dense) and the expert-data ranks (routed experts).
    split = param_split(m)
    dense = (m.layers / pp) * split.dense_per_layer / tp + split.head / tp / pp  # mean stage, per GPU
    experts = (m.layers / pp) * split.experts_per_layer / ep
    dp_groups = [
        ((c, sc), (d, sd)) for c, sc, d, sd in zip(cfg.cp, strides["cp"], cfg.dp, strides["dp"], strict=True)
    ]
    dp_bw, dp_lat = (x.reshape(-1, 1) for x in _links(fabric, dp_groups))
    n_dense = cp * dp
    n_exp = np.maximum(tp * cp * dp / ep, 1.0)

    def over_dp(bytes_per_param: int) -> np.ndarray:
        return ring_all_gather_time(dense * bytes_per_param, n_dense, dp_bw, dp_lat) + ring_all_gather_time(
            experts * bytes_per_param, n_exp, dp_bw, dp_lat
        )

    grads, params = over_dp(GRAD_BYTES), over_dp(WEIGHT_BYTES)
    zero = np.asarray(cfg.zero).reshape(-1, 1)
    # Without ZeRO an all-reduce of the gradients (reduce-scatter + all-gather of the fp32 buffer).
    reduce = np.where(zero == 0, 2.0 * grads, grads)
    gather = np.where(zero == 0, 0.0, params)
    # Overlapped, a chunk's gradient reduce-scatter starts when its last micro-batch's backward ends: one
    # micro-batch's backward of the stage, or with v chunks per rank the drain over which their last
    # backward passes spread, 1 + (p − 1)/v of it. The weights' all-gather hides behind forwards alike.
    spread = np.where(v > 1, 1.0 + (pp - 1) / v, 1.0)
    mb_fwd = fwd.time * (m.layers / pp) * spread
    mb_bwd = bwd.time * (m.layers / pp) * spread
    if job.overlap.data_parallel:
        dp_exposed = np.maximum(0.0, reduce - mb_bwd) + np.where(
            zero == 3,
            micro * np.maximum(0.0, 2.0 * gather - mb_fwd - mb_bwd),
            np.maximum(0.0, gather - mb_fwd),
        )
    else:
        dp_exposed = reduce + np.where(zero == 3, 2.0 * micro * gather, gather)

    # Optimizer: Adam over the GPU's shard, memory-bound.
    shard = np.where(zero >= 1, dense / n_dense + experts / n_exp, dense + experts)
    optimizer = timed(Op("optimizer", 10.0 * shard, OPTIMIZER_TRAFFIC_BYTES * shard), "bf16")

    per_step_layers = m.layers / pp  # a mean stage, for the breakdown
    comm["tensor_parallel"] = micro * per_step_layers * np.broadcast_to(tp_exposed, fwd.time.shape)
    comm["context_parallel"] = micro * per_step_layers * np.broadcast_to(cp_exposed, fwd.time.shape)
    comm["expert_parallel"] = micro * per_step_layers * np.broadcast_to(ep_time, fwd.time.shape)
    comm["pipeline_parallel"] = np.broadcast_to(micro * stage_send + fill_drain, fwd.time.shape)
    comm["data_parallel"] = np.broadcast_to(dp_exposed, fwd.time.shape)
    total = {
        "tensor_parallel": micro * per_step_layers * (tp_fwd + tp_bwd),
        "context_parallel": micro * per_step_layers * (cp_fwd + cp_bwd),
        "expert_parallel": micro * per_step_layers * ep_total,
        "pipeline_parallel": micro * 2.0 * v * send + fill_drain,
        "data_parallel": reduce + np.where(zero == 3, 2.0 * micro * gather, gather),
    }
    return StepModel(
        job=job,
        cfg=cfg,
        clocks=clocks if clocks.shape[0] > 1 else clocks.ravel(),
        layer_forward=fwd,
        layer_backward=bwd,
        head=head,
        layer_comm=np.broadcast_to(layer_comm, fwd.time.shape),
        stage_send=stage_send,
        fill_drain_send=fill_drain,
        dp_exposed=np.broadcast_to(dp_exposed, fwd.time.shape),
        optimizer=optimizer,
        micro_batches=micro,
        comm=comm,
        comm_total={kind: np.broadcast_to(t, fwd.time.shape) for kind, t in total.items()},
    )


def _training_op(op: Op, m: ModelSpec, tokens: np.ndarray, tp: np.ndarray, ep: np.ndarray) -> Op:
    """Serving's forward operators as a training step runs them: elementwise work split over the TP ranks
    (sequence parallelism); routed experts balanced over the EP ranks, each GPU holding experts/EP of them."""
    if op.name in ELEMENTWISE or op.name == "router":
        return Op(op.name, op.flops / tp, op.bytes / tp, op.count)
    if op.name == ROUTED_EXPERTS:
        f, a = m.ffn, BYTES_PER_ELEMENT["bf16"]
        per_expert = mlp_params(m.hidden, f.expert_intermediate, f.gated)
        assignments = tokens / tp * f.top_k
        traffic = f.routed_experts / ep * per_expert * a + assignments * 2 * m.hidden * a
        return Op(op.name, 2.0 * assignments * per_expert, traffic, op.count)
    return op


def _kv_bytes_per_token(m: ModelSpec, tp: np.ndarray) -> np.ndarray:
    """K and V bytes per token per layer on one TP rank (what context parallelism exchanges)."""
    att, a = m.attention, BYTES_PER_ELEMENT["bf16"]
    if att.kind == "mla":
        return att.heads / tp * (att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim) * a
    kv_heads = 1 if att.kind == "mqa" else att.kv_heads
    return 2.0 * np.maximum(kv_heads / tp, 1.0) * att.head_dim * a


def _p2p(fabric: Fabric, strides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    links = [fabric.point_to_point(int(s)) for s in strides]
    return np.array([lk.bandwidth * lk.efficiency for lk in links]), np.array([lk.latency for lk in links])


def _ep_groups(cfg: Configs, strides: dict[str, np.ndarray]) -> list[Dims]:
    """Expert-parallel groups are carved out of the context × data ranks, context first."""
    groups: list[Dims] = []
    for e, c, sc, sd in zip(cfg.ep, cfg.cp, strides["cp"], strides["dp"], strict=True):
        e, c = int(e), int(c)
        if e <= c:
            groups.append(((e, int(sc)),))
        else:
            groups.append(((c, int(sc)), (e // c, int(sd))))
    return groups

