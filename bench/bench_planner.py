"""Planner speed: every configuration of Llama-3.1-405B on 16,384 H100 ranked by predicted tokens/s.

    python bench/bench_planner.py [--runs 3] [--sample 200]

Target on a 2-core machine: ≤ 10 s. The ratio that does not depend on the machine: seconds per configuration
evaluated one at a time (a sample, in the same process) over seconds per configuration in the vectorised
planner.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.scenario import Network, Overlap
from gigawatt.workload.training.configs import Job
from gigawatt.workload.training.memory import memory_per_gpu
from gigawatt.workload.training.planner import enumerate_configs, evaluate, plan

GPUS = 16384


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sample", type=int, default=200)
    args = ap.parse_args()
    job = Job(
        model=load_model("Llama-3.1-405B"),
        gpu=gpu("H100-SXM"),
        precision="bf16",
        sequence_length=8192,
        sequences=2048,
        gpus_per_node=8,
        network=Network(nic="roce-400g", nodes_per_pod=384, core_oversubscription=7),
        overlap=Overlap(),
    )
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        _, evaluated, fitting = plan(job, GPUS)
        walls.append(time.perf_counter() - start)
    cfg = enumerate_configs(job, GPUS)
    fits = np.flatnonzero(memory_per_gpu(job, cfg).fits)
    sample = np.random.default_rng(0).choice(fits, size=min(args.sample, fits.size), replace=False)
    start = time.perf_counter()
    for i in sample:
        evaluate(job, cfg.take(np.array([i])))
    one_at_a_time = (time.perf_counter() - start) / sample.size
    vectorised = float(np.median(walls)) / fitting
    print(f"{evaluated:,} configurations, {fitting:,} fit in memory")
    print(f"plan: min / median / max over {len(walls)} runs: "
          f"{min(walls):.2f} / {np.median(walls):.2f} / {max(walls):.2f} s (target ≤ 10 s)")
    print(f"one configuration at a time: {one_at_a_time * 1e3:.1f} ms; in the planner: "
          f"{vectorised * 1e6:.1f} µs (ratio {one_at_a_time / vectorised:,.0f}×, same process)")


if __name__ == "__main__":
    main()
