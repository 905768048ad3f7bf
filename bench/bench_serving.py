"""Request-level serving speed: simulated requests per wall second.

    python bench/bench_serving.py [--requests 10000] [--tick 1.0]

10,000 requests of the Azure conversation trace (../shared/data/traces, replayed at its own pace) on
Llama-3.1-8B, one H100 (TP1), clock at its maximum, advanced in engine ticks.
"""

from __future__ import annotations

import argparse
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--tick", type=float, default=1.0, help="engine tick, s")
    args = parser.parse_args()
    if not TRACE.exists():
        raise SystemExit(f"needs the Azure conversation trace at {TRACE}")

    h100 = gpu("H100-SXM")
    clocks = clock_grid(h100)
    model = IterationModel(load_model("Llama-3.1-8B"), h100, 1, 1, "bf16", clocks, 8)
    arrivals = read_azure_trace(TRACE, limit=args.requests)
    server = ReplicaServer(model)
    server.add_arrivals(*arrivals)

    start = time.perf_counter()
    t, iterations_busy = 0.0, 0.0
    finish = server.records().finish_s
    while np.isnan(finish).any():
        t += args.tick
        iterations_busy += server.advance(t, len(clocks) - 1, True).busy_s
        if t > arrivals.arrival_s[-1]:
            finish = server.records().finish_s
    wall = time.perf_counter() - start

    summary = summarize([server.records()], [server.stats()], t, ttft_slo_s=2.0, tpot_slo_s=0.1)
    print(f"simulated {args.requests} requests over {t:.0f} s in {wall:.2f} s wall")
    print(
        f"  TTFT p50/p99 {summary['ttft_s']['p50']:.3f}/{summary['ttft_s']['p99']:.3f} s, "
        f"TPOT p50 {summary['tpot_s']['p50'] * 1e3:.1f} ms, GPU busy {iterations_busy / t:.0%}"
    )
    print(f"requests per wall second: {args.requests / wall:,.0f}")


if __name__ == "__main__":
    main()
