"""`gigawatt plan training`: every parallel configuration of a job that fits in memory, ranked by tokens/s.

Configurations are enumerated as arrays (TP over the node's divisors, CP, PP over the GPU count's
divisors, DP what is left, EP for mixture-of-experts models, micro-batch, virtual stages, recomputation,
ZeRO stage, rank order) and evaluated together by the step model at the clock a GPU sustains under its
power limit while computing — the same arithmetic the loop runs, vectorised over configurations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from gigawatt.power.dvfs import clock_grid
from gigawatt.workload.training.configs import ORDERS, RECOMPUTE, Configs, Job
from gigawatt.workload.training.flops import model_flops_per_token
from gigawatt.workload.training.memory import Memory, memory_per_gpu
from gigawatt.workload.training.step import StepModel, step_model

MICRO_BATCHES = (1, 2, 4, 8)
VIRTUAL_STAGES = (1, 2, 3, 4, 6, 8)
CONTEXT = (1, 2, 4, 8, 16, 32)
MAX_PIPELINE = 128


def _divisors(n: int, limit: int) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0]


def enumerate_configs(job: Job, gpus: int) -> Configs:
    """Every configuration the scenario validation would accept for this job on `gpus` GPUs."""
    m, seq, gpn = job.model, job.sequence_length, job.gpus_per_node
    rows: list[tuple[int, ...]] = []
    for tp in (t for t in _divisors(gpn, gpn) if gpus % t == 0):
        for cp in (c for c in CONTEXT if (gpus // tp) % c == 0 and (c == 1 or seq % (2 * c) == 0)):
            for pp in _divisors(gpus // (tp * cp), min(MAX_PIPELINE, m.layers)):
                dp = gpus // (tp * cp * pp)
                experts = (
                    [e for e in _divisors(dp * cp, m.ffn.routed_experts) if m.ffn.routed_experts % e == 0]
                    if m.moe_layers
                    else [1]
                )
                for mb in MICRO_BATCHES:
                    if job.sequences % (dp * mb):
                        continue
                    micro = job.sequences // (dp * mb)
                    for v in VIRTUAL_STAGES:
                        if v > 1 and (pp == 1 or micro % pp or pp * v > m.layers):
                            continue
                        for ep, rc, zero, order in itertools.product(
                            experts, range(len(RECOMPUTE)), range(4), range(len(ORDERS))
                        ):
                            rows.append((tp, cp, pp, dp, ep, mb, v, rc, zero, order))
    if not rows:
        return Configs(*([np.zeros(0, dtype=np.int64)] * 10))
    cols = np.array(rows, dtype=np.int64).T
    return Configs(*cols)


def sustained_bin(model: StepModel, limit_w: float) -> np.ndarray:
    """Per configuration, the highest clock bin whose power while computing fits `limit_w`."""
    power = model.busy_power()
    fits = power <= limit_w
    return np.where(fits.any(axis=-1), fits.shape[-1] - 1 - np.argmax(fits[:, ::-1], axis=-1), 0)


@dataclass(frozen=True)
class Evaluation:
    configs: Configs
    memory: Memory
    step_s: np.ndarray  # at the sustained clock
    clock_mhz: np.ndarray
    tokens_per_s: np.ndarray
    model: StepModel  # at the evaluated clocks (one per configuration)


def evaluate(
    job: Job, cfg: Configs, limit_w: float | None = None, fp8_efficiency: float | None = None
) -> Evaluation:
    """Step time and tokens/s of each configuration at the clock its GPUs sustain under `limit_w`
    (default: the GPU's TDP) while computing.

    A GPU's activity, hence its power at a clock, depends only on what one layer computes: tensor and
    context parallelism, micro-batch, recomputation and expert parallelism. Each distinct combination is
    timed at every clock once; every configuration is then timed at its own sustained clock."""
    clocks = clock_grid(job.gpu)
    limit = job.gpu.tdp if limit_w is None else limit_w
    key = np.stack([cfg.tp, cfg.cp, cfg.mb, cfg.recompute, cfg.ep], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    probe = step_model(job, cfg.take(first), clocks, fp8_efficiency)
    bins = sustained_bin(probe, limit)[inverse.ravel()]
    at = clocks[bins]
    model = step_model(job, cfg, at.reshape(-1, 1), fp8_efficiency)
    step = model.step_time()[:, 0]
    return Evaluation(
        configs=cfg,
        memory=memory_per_gpu(job, cfg),
        step_s=step,
        clock_mhz=at,
        tokens_per_s=job.tokens_per_step / step,
        model=model,
    )


def describe_config(cfg: Configs, i: int) -> str:
    parts = [f"TP{cfg.tp[i]}", f"CP{cfg.cp[i]}", f"PP{cfg.pp[i]}", f"DP{cfg.dp[i]}"]
    if cfg.ep[i] > 1:
        parts.append(f"EP{cfg.ep[i]}")
    text = " × ".join(parts)
    extras = [f"micro-batch {cfg.mb[i]}"]
    if cfg.v[i] > 1:
        extras.append(f"{cfg.v[i]} virtual stages")
    extras += [f"recompute {RECOMPUTE[cfg.recompute[i]]}", f"ZeRO-{cfg.zero[i]}"]
    if cfg.order[i] != 0:
        extras.append(f"order {ORDERS[cfg.order[i]]}")
    return f"{text} ({', '.join(extras)})"


def plan(job: Job, gpus: int, top: int = 10) -> tuple[list[dict[str, Any]], int, int]:
    """The `top` fitting configurations by tokens/s, with their memory and time breakdowns; and how many
    configurations were evaluated and how many fit."""
    cfg = enumerate_configs(job, gpus)
    if len(cfg) == 0:
        return [], 0, 0
    memory = memory_per_gpu(job, cfg)
    fitting = np.flatnonzero(memory.fits)
    if fitting.size == 0:
        return [], len(cfg), 0
    ev = evaluate(job, cfg.take(fitting))
    best = np.argsort(-ev.tokens_per_s, kind="stable")[:top]
    flops = model_flops_per_token(job.model, job.sequence_length)
    peak = job.gpu.peak_flops("bf16")
    rows = []
    for i in best:
        c = ev.configs
        rows.append(
            {
                "config": describe_config(c, int(i)),
                "parallel": {
                    "tensor": int(c.tp[i]),
                    "context": int(c.cp[i]),
                    "pipeline": int(c.pp[i]),
                    "data": int(c.dp[i]),
                    "expert": int(c.ep[i]),
                    "virtual_stages": int(c.v[i]),
                    "order": ORDERS[c.order[i]],
                },
                "micro_batch": int(c.mb[i]),
                "recompute": RECOMPUTE[c.recompute[i]],
                "zero": int(c.zero[i]),
                "tokens_per_s": float(ev.tokens_per_s[i]),
                "tokens_per_s_per_gpu": float(ev.tokens_per_s[i] / gpus),
                "mfu": float(ev.tokens_per_s[i] * flops / gpus / peak),
                "step_s": float(ev.step_s[i]),
                "clock_mhz": float(ev.clock_mhz[i]),
                "memory_gb": {k: v / 1e9 for k, v in ev.memory.breakdown(int(i)).items()},
                "time_s": _breakdown(ev.model, int(i)),
            }
        )
    return rows, len(cfg), int(fitting.size)


def _breakdown(model: StepModel, i: int) -> dict[str, float]:
    m = model.cfg.micro_batches(model.job)[i]
    pp, layers = int(model.cfg.pp[i]), model.job.model.layers
    compute = float((model.layer_forward.time[i, 0] + model.layer_backward.time[i, 0]) * layers / pp * m)
    step = float(model.step_time()[i, 0])
    exposed = {f"exposed_{k}": float(v[i, 0]) for k, v in model.comm.items()}
    return {
        "step": step,
        "compute_mean_stage": compute,
        "optimizer": float(model.optimizer.time[i, 0]),
        **exposed,
        "bubble_and_imbalance": step - compute - float(model.optimizer.time[i, 0]) - sum(exposed.values()),
    }


def does_not_fit(job: Job, cfg: Configs, memory: Memory) -> str:
    """The error for a configuration that does not fit: the bytes it needs and the nearest that fits."""
    gpus = int(cfg.gpus[0])
    need = memory.breakdown()
    text = (
        f"{job.model.name} training as {describe_config(cfg, 0)} needs {need['total'] / 1e9:.1f} GB per GPU "
        f"(weights {need['weights'] / 1e9:.1f}, gradients {need['gradients'] / 1e9:.1f}, optimizer "
        f"{need['optimizer'] / 1e9:.1f}, activations {need['activations'] / 1e9:.1f} GB), but a "
        f"{job.gpu.name} leaves {need['usable'] / 1e9:.1f} GB usable"
    )
    options = enumerate_configs(job, gpus)
    fits = np.flatnonzero(memory_per_gpu(job, options).fits)
    if fits.size == 0:
        return f"{text}; no configuration of {gpus} GPUs fits this model and batch"
    options = options.take(fits)
    fields = ("tp", "cp", "pp", "dp", "ep", "mb", "v", "recompute", "zero", "order")
    changed = sum((getattr(options, f) != getattr(cfg, f)[0]).astype(int) for f in fields)
    fewest = np.flatnonzero(changed == changed.min())
    ev = evaluate(job, options.take(fewest))
    best = int(np.argmax(ev.tokens_per_s))
    return f"{text}; nearest that fits: {describe_config(ev.configs, best)}"
