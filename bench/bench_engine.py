"""Engine speed: GPU-ticks per second and peak memory for 16,384 GPUs × 24 simulated hours at 1 s ticks.

    python bench/bench_engine.py [--hours 24] [--gpus 16384] [--workload serving|training] [--runs 1]

Targets on a 2-core machine: ≥ 5×10^7 GPU-ticks/s for steady serving; ≤ 30 s and < 2 GB for training
(Llama-3.1-405B, TP8 × PP16 × DP128 on 16,384 GPUs). Speed also prints as a ratio that does not depend on
the machine: one engine tick in units of one fused `a*b+c` pass over an array of the same length, timed in
the same process.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import numpy as np

from gigawatt.engine import Engine, RunResult
from gigawatt.scenario import Scenario
from hall import hall

WORKLOADS = {
    "serving": {
        "kind": "steady_serving",
        "model": "Llama-3.1-70B",
        "batch_size": 64,
        "prompt_tokens": 1024,
        "output_tokens": 256,
        "demand": 0.8,
    },
    "training": {
        "kind": "training",
        "model": "Llama-3.1-405B",
        "sequence_length": 8192,
        "global_batch_sequences": 2048,
        "parallel": {"tensor": 8, "pipeline": 16, "data": 128, "virtual_stages": 4},
        "zero": 2,
        "recompute": "selective",
        "network": {"nic": "roce-400g", "nodes_per_pod": 384, "core_oversubscription": 7},
    },
}


def scenario(hours: float, gpus: int, workload: str) -> Scenario:
    data = hall(gpus // 8)
    data["cooling"]["events"] = [
        {"kind": "pump_failure", "at": "2 h", "duration": "30 min", "units": [0], "pumps": 2}
    ]
    work = dict(WORKLOADS[workload])
    if workload == "training":  # the data-parallel degree follows the GPU count
        work["parallel"] = {**work["parallel"], "data": gpus // (8 * 16)}
        work["global_batch_sequences"] = 16 * (gpus // 128)
    return Scenario.model_validate(
        {
            **data,
            "name": f"bench-{workload}",
            "seed": 7,
            "duration": f"{hours} h",
            "tick": "1 s",
            "workload": work,
        }
    )


def fused_pass_s(n: int, repeats: int = 2000, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds of one fused a*b+c pass over n float64 (numpy's out= form, no temporaries), best of many;
    `clock=time.process_time` gives CPU seconds, steadier than wall time on a shared machine."""
    a, b, c, out = (np.random.default_rng(0).random(n) for _ in range(4))
    best = float("inf")
    for _ in range(5):
        start = clock()
        for _ in range(repeats):
            np.multiply(a, b, out=out)
            np.add(out, c, out=out)
        best = min(best, (clock() - start) / repeats)
    return best


def timed_runs(sc: Scenario, runs: int) -> tuple[list[float], list[float], RunResult]:
    """Wall and CPU seconds of each run of the scenario (a fresh engine each), and the last result."""
    walls, cpus = [], []
    for _ in range(runs):
        engine = Engine(sc)
        start, cpu = time.perf_counter(), time.process_time()
        result = engine.run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--gpus", type=int, default=16384)
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="serving")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    sc = scenario(args.hours, args.gpus, args.workload)
    walls, cpus, result = timed_runs(sc, args.runs)
    pass_s = fused_pass_s(sc.cluster.gpus)
    gpu_ticks = sc.cluster.gpus * sc.ticks
    wall = float(np.median(walls))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is KiB on Linux
    print(f"{args.workload}: {sc.cluster.gpus} GPUs × {sc.ticks} ticks = {gpu_ticks:.3g} GPU-ticks")
    spread = f"{min(walls):.1f} / {wall:.1f} / {max(walls):.1f} s"
    print(f"wall min / median / max over {len(walls)} run(s): {spread}")
    print(f"speed: {gpu_ticks / wall:.3g} GPU-ticks/s")
    ratios = " / ".join(f"{w / sc.ticks / pass_s:.1f}" for w in (min(walls), wall, max(walls)))
    print(
        f"one tick = {ratios} (min / median / max) fused a*b+c passes over {sc.cluster.gpus} float64 "
        f"({pass_s * 1e6:.1f} µs each, same process)"
    )
    pass_cpu = fused_pass_s(sc.cluster.gpus, clock=time.process_time)
    ratios = " / ".join(
        f"{c / sc.ticks / pass_cpu:.1f}" for c in (min(cpus), float(np.median(cpus)), max(cpus))
    )
    print(
        f"in CPU time: one tick = {ratios} passes ({pass_cpu * 1e6:.1f} µs each); "
        f"CPU {min(cpus):.1f} / {np.median(cpus):.1f} / {max(cpus):.1f} s"
    )
    print(f"peak memory: {peak_gb:.2f} GB")
    print(f"telemetry rows: {result.timeseries.num_rows}, events: {len(result.events.kind)}")


if __name__ == "__main__":
    main()
