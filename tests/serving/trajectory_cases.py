"""Seeded request-level trajectories pinned bit for bit in fixtures/replica_trajectories.json.

Every tick's work and every request's times, recorded from the replica before its hot paths were rewritten
for speed (Python scalars and running totals instead of NumPy on small arrays). The cases mix chunked and
whole-prompt prefill, recompute and offload preemption (offload spilling to SSD), a full seat limit, low
clocks, a failure and a cold start. `python -m tests.serving.trajectory_cases` (from the repository root,
PYTHONPATH=src) rewrites the fixture.
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
from gigawatt.workload.serving.memory import HostTiers
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig

FIXTURE = Path(__file__).with_name("fixtures") / "replica_trajectories.json"

# name: (requests, rate /s, scheduler, HBM KV blocks or None, host tiers or None, tick s, serving at start,
# simulated s, failure at s)
Case = tuple[int, float, SchedulerConfig, int | None, HostTiers | None, float, bool, float, float]
CASES: dict[str, Case] = {
    "chunked-recompute": (
        250, 6.0, SchedulerConfig(max_num_batched_tokens=1024), 600, None, 1.0, True, 60.0, 30.0,
    ),
    "whole-offload": (
        200, 6.0, SchedulerConfig(chunked_prefill=False, preemption="offload"), 500, None, 0.5, True,
        50.0, 20.0,
    ),
    "offload-to-ssd": (
        200, 5.0, SchedulerConfig(preemption="offload", max_num_seqs=24), 450,
        HostTiers(dram_bytes_per_gpu=2e8, ssd_bytes_per_gpu=2e12), 2.0, True, 60.0, 40.0,
    ),
    "cold-default": (150, 2.0, SchedulerConfig(), None, None, 1.0, False, 200.0, 190.0),
}  # fmt: skip


def _model() -> IterationModel:
    h100 = gpu("H100-SXM")
    return IterationModel(load_model("Llama-3.1-8B"), h100, 1, 1, "bf16", clock_grid(h100), 8)


def run_case(name: str, model: IterationModel | None = None, seed: int = 23) -> dict[str, Any]:
    """Serve one case tick by tick: the clock steps down and back, the replica fails for three ticks."""
    n, rate, config, blocks, host, tick, serving, seconds, fail_at = CASES[name]
    model = model or _model()
    top = len(model.clocks) - 1
    rng = np.random.default_rng(seed)
    server = ReplicaServer(model, config, host=host, kv_blocks=blocks, serving_at_start=serving)
    server.add_arrivals(
        np.cumsum(rng.exponential(1.0 / rate, n)), rng.integers(1, 2500, n), rng.integers(1, 500, n)
    )
    ticks = []
    for k in range(1, round(seconds / tick) + 1):
        clock = top if (k // 5) % 3 else top // 3
        work = server.advance(k * tick, clock, available=not fail_at <= k * tick < fail_at + 3)
        ticks.append([*(float(x) for x in work.__dict__.values()), server.queued, server.tokens_owed])
    rec, stats = server.records(), server.stats()
    return {
        "ticks": ticks,
        "records": {
            field: getattr(rec, field).tolist()
            for field in ("admitted_s", "first_token_s", "finish_s", "preemptions", "interruptions")
        },
        "stats": {k: v for k, v in stats.__dict__.items() if k != "cold_start_stages"},
        "iterations": server.iterations,
        "now": server.now,
    }


if __name__ == "__main__":
    model = _model()
    FIXTURE.write_text(json.dumps({name: run_case(name, model) for name in CASES}) + "\n")
    print({name: len(json.dumps(v)) for name, v in json.loads(FIXTURE.read_text()).items()})
