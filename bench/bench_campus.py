"""The gigawatt campus (examples/campus-1gw.yaml): wall time per tick, a simulated day extrapolated from
a shorter run, and peak memory against the limits estimate.

    python bench/bench_campus.py [--minutes 10] [--runs 1] [--halls 64]

A day at 1 s ticks is 86,400 ticks; the tick's cost does not grow with the simulated time (the recorder
holds one row per rack per recording interval), so a day is the measured ticks scaled (a projection, stated
as such). `--halls` shrinks the campus (512 racks a hall, each with its power budget and heat rejection) for
a quicker look; the last line is the halls' peak power against their budgets and heat against rejection.
Speed also prints as the machine-independent ratio of bench_engine.py: one tick in fused a*b+c passes over
an array of the campus's GPU count.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from bench_engine import fused_pass_s, timed_runs
from gigawatt import limits
from gigawatt.scenario import load

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "campus-1gw.yaml"
NODES_PER_HALL = 512 * 4


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--halls", type=int, default=64)
    args = ap.parse_args()
    base = load(EXAMPLE)
    raw = {**base.raw, "duration": f"{args.minutes} min"}
    raw["cluster"] = {**raw["cluster"], "nodes": NODES_PER_HALL * args.halls}
    sc = type(base).model_validate(raw)
    walls, cpus, result = timed_runs(sc, args.runs)
    n, ticks = sc.cluster.gpus, sc.ticks
    pass_s = fused_pass_s(n, repeats=50)
    pass_cpu = fused_pass_s(n, repeats=50, clock=time.process_time)
    per_tick = np.array(walls) / ticks
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
    day = type(base).model_validate({**raw, "duration": "24 h"})
    est = limits.estimate(day)
    swing = result.facility_power_w / 1e6
    print(f"campus: {n:,} GPUs in {sc.cluster.racks:,} racks, {ticks} ticks of {sc.tick:g} s")
    lo, med, hi = per_tick.min(), float(np.median(per_tick)), per_tick.max()
    ms = f"{lo * 1e3:.0f} / {med * 1e3:.0f} / {hi * 1e3:.0f} ms"
    print(
        f"tick min / median / max over {len(walls)} run(s): {ms} (CPU {np.median(cpus) / ticks * 1e3:.0f} ms)"
    )
    ratio = f"{lo / pass_s:.1f} / {med / pass_s:.1f} / {hi / pass_s:.1f}"
    print(
        f"one tick = {ratio} fused a*b+c passes over {n:,} float64 ({pass_s * 1e6:.0f} µs each, same process)"
    )
    cpu = np.array(cpus) / ticks / pass_cpu
    print(f"in CPU time: one tick = {cpu.min():.1f} / {np.median(cpu):.1f} / {cpu.max():.1f} passes")
    print(
        f"24 h at {sc.tick:g} s ticks, extrapolated: {med * 86_400 / 3600:.1f} h of wall time, "
        f"{np.median(cpus) / ticks * 86_400 / 3600:.1f} h of CPU "
        f"(limits.estimate says {est.time_s / 3600:.1f} h)"
    )
    print(
        f"peak memory (this run): {peak_gb:.2f} GB; limits.estimate, 24 h: {est.memory_bytes / 1e9:.2f} GB "
        f"({est.rows:,} timeseries rows)"
    )
    print(f"facility power: {swing.min():.0f}-{swing.max():.0f} MW; feed {sc.power.site_budget / 1e6:.0f} MW")
    h = result.halls
    if h is not None:
        peak, budget = h.power_peak_w / 1e6, h.budget_w / 1e6
        print(
            f"{len(peak)} halls: peak {peak.min():.2f}-{peak.max():.2f} MW of {budget.min():.2f} MW budgets, "
            f"capped {h.capped_s.max() / h.duration_s:.0%} of the time at most; heat peak "
            f"{h.heat_peak_w.max() / 1e6:.2f} MW of {h.heat_rejection_w.min() / 1e6:.2f} MW heat rejection"
        )


if __name__ == "__main__":
    main()
