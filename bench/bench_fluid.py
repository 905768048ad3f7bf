"""Fluid serving speed: 2,048 replicas × 1 simulated hour inside the coupled loop.

    python bench/bench_fluid.py [--replicas 2048] [--hours 1]

Llama-3.1-70B with TP8 on 8-GPU H100 nodes (2,048 replicas = 16,384 GPUs), Poisson traffic at 2 requests/s
per replica, liquid-cooled racks; prints simulated replica-seconds per wall second and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time

from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from gigawatt.summary import summarize
from hall import hall


def scenario(hours: float, replicas: int) -> Scenario:
    workload = {
        "kind": "serving",
        "model": "Llama-3.1-70B",
        "tensor_parallel": 8,
        "resolution": "fluid",
        "arrivals": {"kind": "poisson", "rate": 2.0 * replicas, "prompt_tokens": 1024, "output_tokens": 256},
    }
    return Scenario.model_validate(
        {**hall(replicas), "name": "bench-fluid", "seed": 11, "duration": f"{hours} h", "workload": workload}
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=2048)
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    sc = scenario(args.hours, args.replicas)
    start = time.perf_counter()
    engine = Engine(sc)
    built = time.perf_counter() - start
    result = engine.run()
    wall = time.perf_counter() - start
    s = summarize(result)
    replica_seconds = args.replicas * sc.ticks * sc.tick
    print(
        f"{args.replicas} replicas ({sc.cluster.gpus} GPUs) × {sc.ticks} ticks in {wall:.1f} s "
        f"(setup {built:.1f} s)"
    )
    print(f"speed: {replica_seconds / wall:.3g} simulated replica-seconds per wall second")
    tpot_ms = s["tpot_s"]["mean"] * 1e3
    print(f"served {s['throughput_tokens_per_s']:,.0f} output tokens/s, mean TPOT {tpot_ms:.1f} ms")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
