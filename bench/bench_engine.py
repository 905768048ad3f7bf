"""Engine speed: GPU-ticks per second and peak memory for 16,384 GPUs × 24 simulated hours at 1 s ticks.

    python bench/bench_engine.py [--hours 24] [--gpus 16384]

Target on a 2-core machine: ≥ 5×10^7 GPU-ticks/s and < 2 GB peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time

from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from hall import hall


def scenario(hours: float, gpus: int) -> Scenario:
    data = hall(gpus // 8)
    data["cooling"]["events"] = [
        {"kind": "pump_failure", "at": "2 h", "duration": "30 min", "units": [0], "pumps": 2}
    ]
    workload = {
        "kind": "steady_serving",
        "model": "Llama-3.1-70B",
        "batch_size": 64,
        "prompt_tokens": 1024,
        "output_tokens": 256,
        "demand": 0.8,
    }
    return Scenario.model_validate(
        {
            **data,
            "name": "bench-16k",
            "seed": 7,
            "duration": f"{hours} h",
            "tick": "1 s",
            "workload": workload,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--gpus", type=int, default=16384)
    args = ap.parse_args()
    sc = scenario(args.hours, args.gpus)
    engine = Engine(sc)
    start = time.perf_counter()
    result = engine.run()
    wall = time.perf_counter() - start
    gpu_ticks = sc.cluster.gpus * sc.ticks
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is KiB on Linux
    print(f"{sc.cluster.gpus} GPUs × {sc.ticks} ticks = {gpu_ticks:.3g} GPU-ticks in {wall:.1f} s")
    print(f"speed: {gpu_ticks / wall:.3g} GPU-ticks/s (target ≥ 5e7)")
    print(f"peak memory: {peak_gb:.2f} GB (target < 2 GB)")
    print(f"telemetry rows: {result.timeseries.num_rows}, events: {len(result.events.kind)}")


if __name__ == "__main__":
    main()
