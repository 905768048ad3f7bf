"""Tokens routed per second, by router: 256 routed experts, top-8, 1,000,000 tokens.

    python bench/bench_routers.py [--tokens N] [--repeat R] [--workers W ...] [--only NAME ...]

Logits are synthetic (Zipf skew 1.0, float32). Routers that use the system see 32 GPUs holding 8 experts
each, one GPU throttled to 0.6. Each router runs R times per worker count: tokens/s as min / median / max.

Machines differ and are shared, so each router's cost is also given in a unit measured in the same process
just before each run: the time per token of `np.argpartition(logits, 248, axis=1)` (single-threaded NumPy
top-8) on the first 32,768 tokens; "units" is the median over runs of the router's time per token in that
unit (wall time, so with 2 workers it can fall below one thread's cost). "× old" divides the cost of the
routers before they ran by chunks on threads, measured once in the same units (OLD_COST below), by it.
"cpu µs" is the median CPU time per token of the whole process (all threads): the work done, which other
jobs on a shared machine disturb less than wall time (with 2 workers, wall time is at best half of it).
Targets (2 workers): two_stage >= 2e6 tokens/s, every other router but expert_choice >= 1e6.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from gigawatt.moe import ExpertMap, GpuState, Router, SystemView, make_router, synthetic_logits

N_EXPERTS = 256
K = 8
UNIT_TOKENS = 32_768
# Cost of each router before chunking (commit bcc40a2), in units as below, median of 3 runs of 131,072
# tokens, by worker count: this script run once on that code, on the 2-core development machine shared with
# other work (load average 4.3).
OLD_COST = {
    1: {
        "topk": 0.38, "topk + GPU map": 0.45, "noisy_topk": 1.27, "capacity (cf 1.25)": 0.75,
        "group_limited (8 groups, 4 kept)": 1.53, "bias_balanced": 0.87, "top_p (p 0.5)": 0.86,
        "expert_choice": 4.07, "two_stage (S 16, alpha 0.3)": 0.64, "adaptive_k (load 0.5)": 0.36,
    },
    2: {
        "topk": 0.35, "topk + GPU map": 0.32, "noisy_topk": 1.25, "capacity (cf 1.25)": 0.74,
        "group_limited (8 groups, 4 kept)": 1.53, "bias_balanced": 0.92, "top_p (p 0.5)": 0.77,
        "expert_choice": 3.46, "two_stage (S 16, alpha 0.3)": 0.70, "adaptive_k (load 0.5)": 0.43,
    },
}  # fmt: skip


def cases(workers: int, system: SystemView) -> list[tuple[str, Router, SystemView | None]]:
    def make(name: str, **options: object) -> Router:
        return make_router(name, k=K, workers=workers, **options)

    return [
        ("topk", make("topk"), None),
        ("topk + GPU map", make("topk"), system),
        ("noisy_topk", make("noisy_topk"), None),
        ("capacity (cf 1.25)", make("capacity", capacity_factor=1.25), None),
        ("group_limited (8 groups, 4 kept)", make("group_limited", n_groups=8, topk_groups=4), None),
        ("bias_balanced", make("bias_balanced"), None),
        ("top_p (p 0.5)", make("top_p", p=0.5), None),
        ("expert_choice", make("expert_choice"), None),
        ("two_stage (S 16, alpha 0.3)", make("two_stage", shortlist=16, alpha=0.3), system),
        ("adaptive_k (load 0.5)", make("adaptive_k", k_min=4), SystemView(load=0.5)),
    ]


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def wall_and_cpu(run: Callable[[], object]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - cpu


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="router threads")
    parser.add_argument("--only", nargs="+", default=[], help="routers whose label starts with one of these")
    args = parser.parse_args()

    logits = synthetic_logits(args.tokens, N_EXPERTS, rng=np.random.default_rng(0), zipf_exponent=1.0)
    speed = np.ones(32)
    speed[3] = 0.6
    system = SystemView(
        expert_map=ExpertMap.from_expert_gpu(np.arange(N_EXPERTS) // 8), gpus=GpuState.of(speed)
    )
    sample = logits[:UNIT_TOKENS]

    def unit() -> float:
        """Seconds per token of the reference computation, now."""
        return seconds(lambda: np.argpartition(sample, N_EXPERTS - K, axis=1)) / len(sample)

    print(
        f"{args.tokens:,} tokens, {N_EXPERTS} experts, top-{K}, {args.repeat} runs; {os.cpu_count()} CPUs, "
        f"load average {load_average()}"
    )
    print(f"unit = np.argpartition of the logits, single-threaded: {1 / unit():.3g} tokens/s now")
    print(
        f"{'router':34s} {'workers':>7s} {'tokens/s min / median / max':>29s} {'units':>6s} {'× old':>6s}"
        f" {'cpu µs':>6s}"
    )
    for workers in args.workers:
        for label, router, view in cases(workers, system):
            if args.only and not label.startswith(tuple(args.only)):
                continue
            times, units, cpu = [], [], []
            for attempt in range(args.repeat):
                reference = unit()
                rng = np.random.default_rng(attempt)
                wall, used = wall_and_cpu(lambda r=router, v=view, g=rng: r.route(logits, system=v, rng=g))
                times.append(wall)
                cpu.append(used / args.tokens * 1e6)
                units.append(wall / args.tokens / reference)
            rates = sorted(args.tokens / t for t in times)
            cost = float(np.median(units))
            old = OLD_COST.get(workers, {}).get(label)
            ratio = f"{old / cost:6.2f}" if old is not None else f"{'':6s}"
            print(
                f"{label:34s} {workers:7d} {rates[0]:9.3g} / {np.median(rates):9.3g} / {rates[-1]:9.3g}"
                f" {cost:6.2f} {ratio} {np.median(cpu):6.2f}",
                flush=True,
            )
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    main()
