"""Seeded request-level cases whose metrics are pinned in fixtures/request_level_golden.json.

The fixture was recorded from the step-by-step replica before decode runs were advanced in closed form;
`python -m tests.serving.golden_cases` (from the repository root, PYTHONPATH=src) rewrites it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.power.dvfs import clock_grid
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.metrics import latencies, percentiles
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig
from gigawatt.workload.serving.traces import Arrivals

FIXTURE = Path(__file__).with_name("fixtures") / "request_level_golden.json"

# name: (requests, rate /s, scheduler, HBM KV blocks or None for the GPU's)
CASES: dict[str, tuple[int, float, SchedulerConfig, int | None]] = {
    "default": (300, 12.0, SchedulerConfig(), None),
    "recompute": (300, 12.0, SchedulerConfig(max_num_batched_tokens=4096), 700),
    "offload": (300, 12.0, SchedulerConfig(preemption="offload"), 700),
    "whole-prompts": (200, 8.0, SchedulerConfig(max_num_batched_tokens=4096, chunked_prefill=False), 900),
}


def _model() -> IterationModel:
    h100 = gpu("H100-SXM")
    return IterationModel(load_model("Llama-3.1-8B"), h100, 1, 1, "bf16", clock_grid(h100), 8)


def _arrivals(n: int, rate: float, seed: int) -> Arrivals:
    rng = np.random.default_rng(seed)
    return Arrivals(
        np.cumsum(rng.exponential(1.0 / rate, n)),
        rng.integers(20, 3000, n),
        rng.integers(1, 600, n),
    )


def run_case(name: str, model: IterationModel | None = None, seed: int = 11) -> dict[str, Any]:
    """Serve one case tick by tick (the clock steps down and back, and the replica fails once)."""
    n, rate, config, blocks = CASES[name]
    model = model or _model()
    top = len(model.clocks) - 1
    server = ReplicaServer(model, config, kv_blocks=blocks, serving_at_start=True)
    server.add_arrivals(*_arrivals(n, rate, seed))
    busy = compute = memory = 0.0
    out_tokens = in_tokens = 0
    for tick in range(1, 200):
        clock = top if (tick // 7) % 2 == 0 else top // 2
        work = server.advance(float(tick), clock, available=not 40 <= tick < 43)
        busy += work.busy_s
        compute += work.compute_busy_s
        memory += work.memory_busy_s
        out_tokens += work.output_tokens
        in_tokens += work.input_tokens
    stats = server.stats()
    lat = latencies([server.records()])
    return {
        **{
            f"{k}_{p}": v
            for k in ("ttft_s", "tpot_s", "e2e_s", "queueing_s")
            for p, v in percentiles(lat[k]).items()
        },
        "ttft_mean": float(np.nanmean(lat["ttft_s"])),
        "finished": int(np.isfinite(server.records().finish_s).sum()),
        "output_tokens": out_tokens,
        "input_tokens": in_tokens,
        "tokens_owed": server.tokens_owed,
        "busy_s": busy,
        "compute_s": compute,
        "memory_s": memory,
        "preemptions": stats.preemptions,
        "recomputed_tokens": stats.recomputed_tokens,
        "kv_utilisation_mean": stats.kv_utilisation_mean,
        "kv_utilisation_peak": stats.kv_utilisation_peak,
        "batch_mean": stats.batch_mean,
        "bytes_moved": sum(stats.bytes_moved.values()),
    }


if __name__ == "__main__":
    model = _model()
    FIXTURE.write_text(json.dumps({name: run_case(name, model) for name in CASES}, indent=1) + "\n")
    print(FIXTURE.read_text())
