"""`gigawatt reliability SCENARIO`: the Monte Carlo of a scenario's training job (DESIGN 4.5).

The job's size, step time, tokens per step and checkpoint bytes come from the training workload as the
loop builds it; its GPUs' temperatures from the loop itself, run for a short warm-up (or the catalog's
reference temperature). Failure histories over the horizon are then sampled event by event for many trials,
so days of a 16,384-GPU job take seconds. Variants of the scenario run side by side: a warmer hall, another
checkpoint policy, other detectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigawatt.engine import Engine
from gigawatt.reliability.config import CheckpointPolicy
from gigawatt.reliability.montecarlo import MonteCarloResult, run
from gigawatt.scenario import Scenario, Training
from gigawatt.workload.training.job import TrainingJob

WARM_UP_S = 600.0  # long enough for dies and coolant loops to settle (time constants of seconds to minutes)
DEFAULT_POLICY = CheckpointPolicy()  # Daly's interval to the shared store, synchronous


class StudyError(ValueError):
    """A scenario the reliability study cannot run."""


@dataclass(frozen=True)
class Study:
    label: str
    scenario: Scenario
    result: MonteCarloResult
    tokens_per_s: float  # the job's failure-free throughput in the loop
    die_temp_c: float  # mean die temperature the hazard saw
    interval_scan: list[tuple[float, float]]  # (interval s, ETTR) for fixed intervals around the optimum

    @property
    def goodput_tokens_per_s(self) -> float:
        return self.tokens_per_s * self.result.goodput_fraction.mean

    def gpu_failures(self) -> float:
        causes = self.result.causes
        gpu = np.array([c == "GPU" for c in causes.categories])
        return float(self.result.interruptions[:, gpu].sum(axis=1).mean())


def study(
    label: str,
    sc: Scenario,
    trials: int,
    horizon_s: float | None,
    loop_temperatures: bool,
    scan: bool,
) -> Study:
    w = sc.workload
    if not isinstance(w, Training):
        raise StudyError(f"{sc.name}: the reliability study needs a training workload (kind: training)")
    warm = sc.model_copy(update={"duration": min(WARM_UP_S, sc.ticks * sc.tick)})
    engine = Engine(warm)
    result = engine.run()
    job = result.workload
    assert isinstance(job, TrainingJob)
    temps = engine.temp if loop_temperatures else None
    policy = w.checkpoint or DEFAULT_POLICY
    configured = sc.reliability.horizon if sc.reliability is not None else None
    horizon = horizon_s or configured or sc.ticks * sc.tick
    common = {
        "n_gpus": sc.cluster.gpus,
        "gpus_per_node": sc.cluster.gpus_per_node,
        "horizon_s": horizon,
        "checkpoint_bytes_per_gpu": job.recovery.bytes_per_gpu,
        "trials": trials,
        "seed": sc.seed,
        "die_temp_c": temps,
    }
    mc = run(sc.reliability, policy, **common)
    step = float(np.mean(job.step_lengths)) if job.step_lengths else job.reference_step
    scan_rows: list[tuple[float, float]] = []
    if scan:
        best = mc.plan.interval_s
        for factor in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0):
            fixed = policy.model_copy(update={"interval": "fixed", "every": best * factor})
            scan_rows.append((best * factor, run(sc.reliability, fixed, **common).ettr.mean))
    return Study(
        label=label,
        scenario=sc,
        result=mc,
        tokens_per_s=job.tokens_per_step / step,
        die_temp_c=float(np.mean(engine.temp)) if loop_temperatures else float("nan"),
        interval_scan=scan_rows,
    )


def comparison_chain(base: Study, other: Study, changes: dict[str, Any]) -> str:
    """What a variant's change does, e.g. "supply 32 C (dies +8.0 K) → +72% GPU failures → −2.5% goodput"."""
    what = ", ".join(f"{path.split('.')[-1].replace('_', ' ')} {_value(v)}" for path, v in changes.items())
    if np.isfinite(base.die_temp_c) and np.isfinite(other.die_temp_c):
        warmer = other.die_temp_c - base.die_temp_c
        if abs(warmer) >= 0.05:
            what += f" (dies {_signed(warmer, '.1f')} K)"
    parts = [what]
    gpu = other.gpu_failures() / base.gpu_failures() - 1.0 if base.gpu_failures() else 0.0
    total = (
        other.result.interruptions_total.mean / base.result.interruptions_total.mean - 1.0
        if base.result.interruptions_total.mean
        else 0.0
    )
    if abs(total) >= 0.005 or abs(gpu) >= 0.005:
        parts.append(f"{_signed(gpu, '.0%')} GPU failures ({_signed(total, '.0%')} all interruptions)")
    escapes = (base.result.sdc_escapes_per_run.mean, other.result.sdc_escapes_per_run.mean)
    if abs(escapes[1] - escapes[0]) >= 0.05:
        parts.append(f"SDC escapes {escapes[0]:.1f} → {escapes[1]:.1f} per run")
    goodput = other.goodput_tokens_per_s / base.goodput_tokens_per_s - 1.0
    parts.append(f"{_signed(goodput, '.1%')} goodput")
    return " → ".join(parts)


def _value(v: Any) -> str:
    """A variant's new value in words: detector lists by their kinds."""
    if isinstance(v, list):
        kinds = [d.get("kind", "?") for d in v if isinstance(d, dict)]
        return " + ".join(kinds) if kinds else "none"
    return str(v)


def _signed(x: float, fmt: str) -> str:
    return format(x, "+" + fmt).replace("-", "−")
