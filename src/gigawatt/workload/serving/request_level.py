"""Request-level serving inside the tick loop: one discrete-event replica per model replica.

Each tick the engine gives every replica the clock bin of its slowest GPU and whether all its GPUs are
up; the replica runs its iterations until the end of the tick and reports how long its GPUs were busy
computing and streaming HBM. Those activities set the power of each of its GPUs, and, for the next tick,
what the governor expects the replica to ask of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gigawatt.arch.spec import ModelSpec, load_model
from gigawatt.catalog import GpuSpec
from gigawatt.power.dvfs import clock_grid, voltage
from gigawatt.scenario import Arrivals as ArrivalSpec
from gigawatt.scenario import Serving
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.memory import (
    HBM_USABLE_FRACTION,
    hbm_kv_blocks,
    kv_bytes_per_token_per_gpu,
    weight_bytes_per_gpu,
)
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig
from gigawatt.workload.serving.startup import startup_stages
from gigawatt.workload.serving.steady import WorkloadError
from gigawatt.workload.serving.traces import Arrivals, bursty_arrivals, poisson_arrivals, read_azure_trace


def load_arrivals(spec: ArrivalSpec, duration_s: float, rng: np.random.Generator) -> Arrivals:
    """All requests arriving within the run, in arrival order."""
    if spec.kind == "trace":
        assert spec.path is not None
        arrivals = read_azure_trace(Path(spec.path), spec.time_scale, spec.limit)
    else:
        assert spec.rate is not None and spec.prompt_tokens is not None and spec.output_tokens is not None
        n = int(spec.rate * duration_s * 1.3 + 20)  # enough to pass the end of the run
        make = poisson_arrivals if spec.kind == "poisson" else None
        arrivals = (
            make(n, spec.rate, rng, spec.prompt_tokens, spec.output_tokens)
            if make is not None
            else bursty_arrivals(n, spec.rate, spec.cv, rng, spec.prompt_tokens, spec.output_tokens)
        )
    keep = arrivals.arrival_s < duration_s
    return Arrivals(arrivals.arrival_s[keep], arrivals.prompt_tokens[keep], arrivals.output_tokens[keep])


def check_fits(w: Serving, gpu: GpuSpec, gpus_per_node: int) -> int:
    """KV blocks per replica; a clear error naming the memory needed, and what would fit, when none."""
    m = load_model(w.model)
    tp, pp, s = w.tensor_parallel, w.pipeline_parallel, w.scheduler

    def blocks(t: int, p: int, precision: str) -> int:
        return hbm_kv_blocks(m, gpu, precision, t, p, s.block_tokens, s.max_num_batched_tokens)

    if (found := blocks(tp, pp, w.precision)) > 0:
        return found
    need = weight_bytes_per_gpu(m, w.precision, tp, pp)
    usable = HBM_USABLE_FRACTION * gpu.hbm_capacity
    fixes = []
    # Fewest GPUs first, and of those the most tensor parallelism (inside the node, over NVLink).
    layouts = sorted(((t, p) for t in (1, 2, 4, 8) for p in (1, 2, 4, 8)), key=lambda x: (x[0] * x[1], x[1]))
    wider = [
        (t, p)
        for t, p in layouts
        if t <= gpus_per_node and t * p > tp * pp and blocks(t, p, w.precision) > 0
    ]
    if wider:
        t, p = wider[0]
        fixes.append(f"raise tensor_parallel × pipeline_parallel to {t} × {p}")
    if w.precision == "bf16" and blocks(tp, pp, "fp8") > 0:
        fixes.append("use fp8 weights (workload.precision: fp8)")
    if not fixes:
        fixes.append("no tensor × pipeline parallelism up to 8 × 8 fits: use GPUs with more memory")
    raise WorkloadError(
        f"{m.name}'s weights in {w.precision} ({need / 1e9:.1f} GB per GPU at tensor_parallel {tp} × "
        f"pipeline_parallel {pp}) leave no room for KV cache in a {gpu.name}'s {usable / 1e9:.1f} GB "
        f"({HBM_USABLE_FRACTION:.0%} of {gpu.hbm_capacity / 1e9:.0f} GB); {' or '.join(fixes)}"
    )


@dataclass(frozen=True)
class Activity:
    """What each replica's GPUs did in one tick (arrays over replicas, seconds per GPU)."""

    busy_s: np.ndarray
    compute_s: np.ndarray  # at the replica's clock
    memory_s: np.ndarray
    output_tokens: np.ndarray
    input_tokens: np.ndarray
    kv_utilisation: np.ndarray
    queued: np.ndarray  # requests (or, fluid, tokens) waiting for a place in the batch at the end


@dataclass(frozen=True)
class ServingSetup:
    """What both resolutions build first: the model, its iteration timing, the arrivals, the KV room."""

    model: ModelSpec
    clocks: np.ndarray
    iteration: IterationModel
    arrivals: Arrivals
    kv_blocks: int


def serving_setup(w: Serving, gpu: GpuSpec, gpus_per_node: int, duration_s: float, seed: int) -> ServingSetup:
    blocks = check_fits(w, gpu, gpus_per_node)
    m = load_model(w.model)
    clocks = clock_grid(gpu)
    iteration = IterationModel(
        m, gpu, w.tensor_parallel, w.pipeline_parallel, w.precision, clocks, gpus_per_node
    )
    rng = np.random.default_rng([seed, 0x72657173])  # the arrivals' own stream, shared by both resolutions
    return ServingSetup(m, clocks, iteration, load_arrivals(w.arrivals, duration_s, rng), blocks)


def steady_iteration(
    iteration: IterationModel,
    clock_bin: int,
    n: float,
    prompt: float,
    output: float,
    recompute: float = 0.0,
) -> tuple[float, float, float]:
    """(time, compute busy, memory busy) of an iteration of `n` decoding sequences plus the prefill work that
    keeps `n` in flight (each request's prompt once per its `output` iterations, and `recompute` more
    prefills of it where preempted KV is recomputed)."""
    prefills = n / output * (1.0 + recompute)
    return iteration.iteration_time(
        clock_bin,
        prefill_tokens=prefills * prompt,
        prefill_seqs=prefills,
        prefill_pairs=prefills * prompt * (prompt + 1) / 2,
        prefill_context=prefills * prompt,
        decode_seqs=n,
        decode_context=n * (prompt + output / 2),
    )


def saturated_activity(setup: ServingSetup, max_seqs: int) -> tuple[np.ndarray, np.ndarray]:
    """Compute and HBM busy shares at each clock bin of a replica running full batches of its mean request
    (pipeline stages included: each GPU is busy 1/pp of an iteration); the governor's saturated case."""
    a = setup.arrivals
    prompt = float(a.prompt_tokens.mean()) if a.prompt_tokens.size else 1.0
    output = float(a.output_tokens.mean()) if a.output_tokens.size else 1.0
    per_bin = np.array(
        [steady_iteration(setup.iteration, k, max_seqs, prompt, output) for k in range(len(setup.clocks))]
    )
    return per_bin[:, 1] / per_bin[:, 0], per_bin[:, 2] / per_bin[:, 0]


def saturated_comm_share(setup: ServingSetup, max_seqs: int) -> np.ndarray:
    """Share of a full-batch iteration spent in collectives and stage transfers, at each clock bin."""
    a = setup.arrivals
    prompt = float(a.prompt_tokens.mean()) if a.prompt_tokens.size else 1.0
    output = float(a.output_tokens.mean()) if a.output_tokens.size else 1.0
    tokens = max_seqs * prompt / output + max_seqs
    comm = setup.iteration.comm_time(tokens)
    times = np.array(
        [steady_iteration(setup.iteration, k, max_seqs, prompt, output)[0] for k in range(len(setup.clocks))]
    )
    return comm / times


class RequestLevel:
    def __init__(
        self,
        w: Serving,
        gpu: GpuSpec,
        n_replicas: int,
        gpus_per_node: int,
        duration_s: float,
        tick_s: float,
        seed: int,
    ):
        self.setup = setup = serving_setup(w, gpu, gpus_per_node, duration_s, seed)
        m, blocks, self.clocks, self.iteration = setup.model, setup.kv_blocks, setup.clocks, setup.iteration
        s = w.scheduler
        config = SchedulerConfig(
            max_num_batched_tokens=s.max_num_batched_tokens,
            max_num_seqs=s.max_num_seqs,
            chunked_prefill=s.chunked_prefill,
            block_tokens=s.block_tokens,
            preemption=s.when_hbm_is_full,
        )
        self.arrivals = setup.arrivals
        longest = int((self.arrivals.prompt_tokens + self.arrivals.output_tokens).max(initial=0))
        kv_per_token = kv_bytes_per_token_per_gpu(m, w.precision, w.tensor_parallel, w.pipeline_parallel)
        if longest > blocks * s.block_tokens:
            raise WorkloadError(
                f"the longest request ({longest} tokens) needs {longest * kv_per_token / 1e9:.2f} GB of KV "
                f"cache per GPU, more than the {blocks * s.block_tokens} tokens that fit beside the weights: "
                "raise tensor_parallel, use fp8 weights, or shorten the requests"
            )
        up = w.startup
        tp, pp = w.tensor_parallel, w.pipeline_parallel
        stages = startup_stages(m, w.precision, tp, pp, gpu, up.storage, up.storage_read, up.caches)
        self.replicas = [
            ReplicaServer(
                self.iteration,
                config,
                replica=r,
                kv_blocks=blocks,
                startup=stages,
                serving_at_start=up.begin == "serving",
            )
            for r in range(n_replicas)
        ]
        a = self.arrivals
        for r, replica in enumerate(self.replicas):  # round-robin load balancing
            replica.add_arrivals(
                a.arrival_s[r::n_replicas], a.prompt_tokens[r::n_replicas], a.output_tokens[r::n_replicas]
            )
        self.demanded_tokens = a.output_tokens  # for the served-fraction figure
        ticks = int(np.ceil(duration_s / tick_s)) + 1
        self.offered_by_tick = np.bincount((a.arrival_s / tick_s).astype(np.int64), a.output_tokens, ticks)
        self.volt2 = (voltage(gpu, self.clocks) / gpu.voltage_max) ** 2
        self.last: Activity | None = None

    def advance(self, t_end: float, clock_bin: np.ndarray, available: np.ndarray) -> Activity:
        """Run every replica to `t_end` (a Python loop over replicas: request level is for ≤ hundreds)."""
        works = [
            rep.advance(t_end, int(k), bool(ok))
            for rep, k, ok in zip(self.replicas, clock_bin, available, strict=True)
        ]
        self.last = Activity(
            busy_s=np.array([w.busy_s for w in works]),
            compute_s=np.array([w.compute_busy_s for w in works]),
            memory_s=np.array([w.memory_busy_s for w in works]),
            output_tokens=np.array([w.output_tokens for w in works], dtype=float),
            input_tokens=np.array([w.input_tokens for w in works], dtype=float),
            kv_utilisation=np.array([w.kv_utilisation for w in works]),
            queued=np.array([rep.queued for rep in self.replicas], dtype=float),
        )
        return self.last

    def fail(self, replicas: np.ndarray, now: float) -> None:
        for r in replicas:
            self.replicas[int(r)].fail(now)
