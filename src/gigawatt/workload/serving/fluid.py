"""Fluid serving: per-replica token rates instead of requests, vectorised over thousands of replicas.

A replica in steady continuous batching with N sequences in flight runs iterations of N decode tokens
plus the prefill work that keeps N in flight (each request's prompt once per its `output` iterations,
so N·prompt/output prompt tokens an iteration). Its output rate is N / t_iter(N), rising with N up to
`max_num_seqs` or the sequences whose KV cache fits in HBM, whichever is fewer. Each tick a replica
serves its offered tokens with the smallest N that keeps up (or at the largest N, queueing the rest);
the time per output token is then t_iter(N). Iteration times,
compute and memory busy times come from the same `IterationModel` the request level uses, tabulated
over clock bins × N once, so the two resolutions share their arithmetic.
"""

from __future__ import annotations

import numpy as np

from gigawatt.catalog import GpuSpec
from gigawatt.scenario import Serving
from gigawatt.workload.serving import paged
from gigawatt.workload.serving.request_level import Activity, serving_setup, steady_iteration


class FluidServing:
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
        self.clocks, iteration = setup.clocks, setup.iteration
        self.arrivals = arrivals = setup.arrivals
        self.n_replicas, self.dt = n_replicas, tick_s
        # Offered output tokens per tick and replica, round-robin as the request level balances them.
        ticks = int(np.ceil(duration_s / tick_s)) + 1
        tick = np.minimum((arrivals.arrival_s / tick_s).astype(np.int64), ticks - 1)
        replica = np.arange(arrivals.arrival_s.size) % n_replicas
        self.offered = np.zeros((ticks, n_replicas))
        np.add.at(self.offered, (tick, replica), arrivals.output_tokens)
        self.demanded_tokens = arrivals.output_tokens
        self.offered_by_tick = self.offered.sum(axis=1)
        prompt = float(arrivals.prompt_tokens.mean()) if arrivals.prompt_tokens.size else 1.0
        output = float(arrivals.output_tokens.mean()) if arrivals.output_tokens.size else 1.0
        self.prompt_per_output = prompt / output

        # t_iter, compute and memory busy per iteration over (clock bin, N = 1 … N_max). N_max is the batch
        # limit, or the sequences the paged KV pool keeps in flight if fewer (each holds, on average, its
        # prompt and half its output; paged.py); KV overflowing the pool at N is recomputed.
        blocks, bt = setup.kv_blocks, w.scheduler.block_tokens
        n_max = int(max(1, min(w.scheduler.max_num_seqs, paged.max_seqs(blocks, prompt, output, bt))))
        n = np.arange(1, n_max + 1, dtype=float)
        recompute = np.array(
            [paged.overflow_share(x, blocks, prompt, output, bt) * (prompt + output / 2) / prompt for x in n]
        )
        self.preempted_share = paged.overflow_share(n_max, blocks, prompt, output, bt)
        cases = list(zip(n, recompute, strict=True))
        per_iter = np.array(
            [
                [steady_iteration(iteration, k, x, prompt, output, r) for x, r in cases]
                for k in range(len(self.clocks))
            ]
        )
        self.t_iter, self.t_compute, self.t_memory = per_iter[..., 0], per_iter[..., 1], per_iter[..., 2]
        self.rate = n / self.t_iter  # output tokens/s at each (bin, N), rising in N
        # Rows offset so the whole table is sorted: one searchsorted answers every replica's row.
        self._span = float(self.rate.max()) * 2.0 + 1.0
        self._sorted = (self.rate + np.arange(len(self.clocks))[:, None] * self._span).ravel()
        self.n_max = n_max
        self.backlog = np.zeros(n_replicas)
        self.tick = 0
        self.tpot_weighted = 0.0  # Σ tokens × t_iter, for the mean time per output token
        self.served_total = 0.0
        self.last: Activity | None = None

    def advance(self, t_end: float, clock_bin: np.ndarray, available: np.ndarray) -> Activity:
        offered = self.offered[min(self.tick, len(self.offered) - 1)]
        self.tick += 1
        k = np.asarray(clock_bin, dtype=np.int64)
        wanted = self.backlog + offered
        top_rate = self.rate[k, -1] * available
        served = np.minimum(wanted, top_rate * self.dt)
        self.backlog = wanted - served
        rate = served / self.dt
        flat = np.searchsorted(self._sorted, rate + k * self._span, side="left")
        n_idx = np.clip(flat - k * self.n_max, 0, self.n_max - 1)  # smallest N that keeps up
        t_iter = self.t_iter[k, n_idx]
        busy = np.where(served > 0, rate / self.rate[k, n_idx], 0.0) * self.dt
        share = busy / t_iter
        self.tpot_weighted += float((served * t_iter).sum())
        self.served_total += float(served.sum())
        self.last = Activity(
            busy_s=busy,
            compute_s=share * self.t_compute[k, n_idx],
            memory_s=share * self.t_memory[k, n_idx],
            output_tokens=served,
            input_tokens=served * self.prompt_per_output,
            kv_utilisation=np.zeros(self.n_replicas),
            queued=self.backlog.copy(),
        )
        return self.last

    def fail(self, replicas: np.ndarray, now: float) -> None:
        """Fluid replicas hold no per-request state: a failure only stops them while they are down."""

    @property
    def mean_tpot_s(self) -> float:
        return self.tpot_weighted / self.served_total if self.served_total else float("nan")
