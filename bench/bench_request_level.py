"""Request-level serving speed: simulated iterations per wall second of simulation.

    python bench/bench_request_level.py [--requests 10000] [--time-scale 0.5] [--runs 3]

The first `--requests` requests of the Azure conversation trace (../shared/data/traces) at `--time-scale`
on Llama-3.1-8B, one H100 (TP1), clock at its maximum, advanced in 1 s engine ticks. The wall time counts
the tick loop only (not imports, trace reading or the iteration model's set-up). The reference simulator
Vidur ran the same requests at about 4,200 batches per second on this machine (2 cores).

A machine-independent figure comes with it: the wall time of one iteration in units of one small fused
NumPy operation (`np.add(a, b, out=c)` on 32 floats), timed in the same process. On a shared machine the
rate by the process's CPU time (also printed) is the steadier of the two.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from pathlib import Path

import numpy as np

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.power.dvfs import clock_grid
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.metrics import summarize
from gigawatt.workload.serving.replica import ReplicaServer
from gigawatt.workload.serving.traces import read_azure_trace

TRACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces" / "AzureLLMInferenceTrace_conv.csv"
VIDUR_BATCHES_PER_S = 4_200  # measured side by side on this machine, same requests and load


def small_op_s() -> float:
    """Seconds of one small fused array operation (the best of several repeats)."""
    a, b, c = np.ones(32), np.ones(32), np.empty(32)
    return min(timeit.repeat(lambda: np.add(a, b, out=c), number=20_000, repeat=5)) / 20_000


def run_once(model: IterationModel, arrivals, tick: float) -> tuple[ReplicaServer, float, float, float]:
    """The server after the run, wall and CPU seconds of the tick loop, and the simulated time."""
    server = ReplicaServer(model)
    server.add_arrivals(*arrivals)
    top = len(model.clocks) - 1
    start, cpu = time.perf_counter(), time.process_time()
    t = 0.0
    finish = server.records().finish_s
    while np.isnan(finish).any():
        t += tick
        server.advance(t, top, True)
        if t > arrivals.arrival_s[-1]:
            finish = server.records().finish_s
    return server, time.perf_counter() - start, time.process_time() - cpu, t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--time-scale", type=float, default=0.5)
    parser.add_argument("--tick", type=float, default=1.0, help="engine tick, s")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not TRACE.exists():
        raise SystemExit(f"needs the Azure conversation trace at {TRACE}")

    h100 = gpu("H100-SXM")
    model = IterationModel(load_model("Llama-3.1-8B"), h100, 1, 1, "bf16", clock_grid(h100), 8)
    arrivals = read_azure_trace(TRACE, args.time_scale, args.requests)
    rates, walls, cpu_rates = [], [], []
    for _ in range(args.runs):
        server, wall, cpu, t = run_once(model, arrivals, args.tick)
        rates.append(server.iterations / wall)
        cpu_rates.append(server.iterations / cpu)
        walls.append(wall)
    op_s = small_op_s()

    summary = summarize([server.records()], [server.stats()], t, ttft_slo_s=2.0, tpot_slo_s=0.1)
    print(
        f"{args.requests} requests, {server.iterations:,} iterations (batch mean "
        f"{server.stats().batch_mean:.1f}) over {t:.0f} simulated s"
    )
    print(
        f"  TTFT p50/p99 {summary['ttft_s']['p50']:.6f}/{summary['ttft_s']['p99']:.6f} s, "
        f"TPOT p50/p99 {summary['tpot_s']['p50'] * 1e3:.6f}/{summary['tpot_s']['p99'] * 1e3:.6f} ms"
    )
    lo, mid, hi = min(rates), statistics.median(rates), max(rates)
    print(
        f"iterations per wall second over {args.runs} runs: min {lo:,.0f}, median {mid:,.0f}, max {hi:,.0f}"
    )
    print(f"  wall per run: {', '.join(f'{w:.2f} s' for w in walls)}")
    print(
        f"  by CPU time: min {min(cpu_rates):,.0f}, median {statistics.median(cpu_rates):,.0f}, "
        f"max {max(cpu_rates):,.0f} iterations per CPU second"
    )
    print(
        f"  vs Vidur's ~{VIDUR_BATCHES_PER_S:,} batches/s (measured once, not re-run here): "
        f"{mid / VIDUR_BATCHES_PER_S:.1f}x (median)"
    )
    print(
        f"  one iteration costs {1 / (mid * op_s):.1f} small fused NumPy ops "
        f"({op_s * 1e9:.0f} ns each on this machine)"
    )


if __name__ == "__main__":
    main()
