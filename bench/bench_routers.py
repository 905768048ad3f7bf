"""Tokens routed per second, by router: 256 routed experts, top-8, 1,000,000 tokens, best of 3.

    python bench/bench_routers.py [--tokens N] [--repeat R] [--workers W]

Logits are synthetic (Zipf skew 1.0, float32). Routers that use the system see 32 GPUs holding 8 experts
each, one GPU throttled to 0.6. Target: >= 2e6 tokens/s for topk and two_stage.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gigawatt.moe import ExpertMap, GpuState, Router, SystemView, make_router, synthetic_logits

N_EXPERTS = 256
K = 8


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


def best_seconds(router: Router, logits: np.ndarray, system: SystemView | None, repeat: int) -> float:
    best = float("inf")
    for attempt in range(repeat):
        rng = np.random.default_rng(attempt)
        start = time.perf_counter()
        router.route(logits, system=system, rng=rng)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="top-k kernel threads")
    args = parser.parse_args()

    logits = synthetic_logits(args.tokens, N_EXPERTS, rng=np.random.default_rng(0), zipf_exponent=1.0)
    speed = np.ones(32)
    speed[3] = 0.6
    system = SystemView(
        expert_map=ExpertMap.from_expert_gpu(np.arange(N_EXPERTS) // 8), gpus=GpuState.of(speed)
    )
    print(f"{args.tokens:,} tokens, {N_EXPERTS} experts, top-{K}, best of {args.repeat}")
    print(f"{'router':36s} {'workers':>7s} {'seconds':>9s} {'tokens/s':>12s}")
    for workers in args.workers:
        for label, router, view in cases(workers, system):
            seconds = best_seconds(router, logits, view, args.repeat)
            print(f"{label:36s} {workers:7d} {seconds:9.3f} {args.tokens / seconds:12.3e}", flush=True)


if __name__ == "__main__":
    main()
