"""`gigawatt validate training`: predicted against published throughput of large training runs.

Every run in `catalog/training_runs.yaml` is built as a training workload and timed by the step model at
the clock its GPUs sustain under their power limit while computing (the loop's governor equilibrium), and
compared on tokens/s per GPU: a published step time or TFLOP/s (with its source's FLOP convention) turns
into that exactly, so no convention of ours enters the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from gigawatt import catalog
from gigawatt.catalog import _load
from gigawatt.scenario import Training
from gigawatt.validation.check import Check as ValidationCheck
from gigawatt.workload.training.configs import configs_of, job_of
from gigawatt.workload.training.flops import model_flops_per_token
from gigawatt.workload.training.planner import evaluate

GPUS_PER_NODE = 8
# A held-out run further off than this fails `gigawatt validate training` (a run may state a wider one, with
# its reason). The goal is 10 %; the settings sources leave unstated (virtual stages, recomputation,
# overlap) move a prediction by up to ~20 %.
TOLERANCE = 0.25


@dataclass(frozen=True)
class Check:
    name: str
    source: str
    gpu: str
    gpus: int
    model: str
    published: str  # as printed
    published_tokens_per_gpu: float
    predicted_tokens_per_gpu: float
    predicted_mfu: float
    clock_mhz: float
    memory_gb: float
    fits: bool
    assumed: str
    tolerance: float
    held_out: bool  # no fitted parameter was fitted to this run

    @property
    def error(self) -> float:
        return self.predicted_tokens_per_gpu / self.published_tokens_per_gpu - 1.0


@cache
def runs() -> list[dict[str, Any]]:
    return list(_load("training_runs.yaml")["runs"])


def check(run: dict[str, Any], fp8_efficiency: float | None = None) -> Check:
    fields = ("model", "sequence_length", "global_batch_sequences", "micro_batch", "parallel", "recompute")
    spec = {"kind": "training", **{k: run[k] for k in fields}}
    for key in ("zero", "precision", "overlap", "network"):
        if key in run:
            spec[key] = run[key]
    w = Training.model_validate(spec)
    gpu = catalog.gpu(run["gpu"])
    job = job_of(w, gpu, GPUS_PER_NODE)
    ev = evaluate(job, configs_of(w), fp8_efficiency=fp8_efficiency)
    gpus = w.parallel.gpus
    predicted = float(ev.tokens_per_s[0]) / gpus
    pub = run["published"]
    if "step_s" in pub:
        published = job.tokens_per_step / pub["step_s"] / gpus
        printed = f"{pub['step_s']:g} s/step"
    elif "tokens_per_s_per_gpu" in pub:
        published = float(pub["tokens_per_s_per_gpu"])
        printed = f"{published:g} tokens/s/GPU"
    else:
        causal = pub["convention"] == "causal"
        published = pub["tflops_per_gpu"] * 1e12 / model_flops_per_token(job.model, w.sequence_length, causal)
        printed = f"{pub['tflops_per_gpu']:g} TFLOP/s ({pub['convention']})"
    mfu = predicted * model_flops_per_token(job.model, w.sequence_length) / gpu.peak_flops("bf16")
    return Check(
        name=run["name"],
        source=run["source"],
        gpu=gpu.name,
        gpus=gpus,
        model=job.model.name,
        published=printed,
        published_tokens_per_gpu=published,
        predicted_tokens_per_gpu=predicted,
        predicted_mfu=mfu,
        clock_mhz=float(ev.clock_mhz[0]),
        memory_gb=float(ev.memory.total[0]) / 1e9,
        fits=bool(ev.memory.fits[0]),
        assumed=run.get("assumed", ""),
        tolerance=float(run.get("tolerance", TOLERANCE)),
        held_out=run["name"] not in fitted_runs(),
    )


@cache
def fitted_runs() -> set[str]:
    """Runs a parameter of catalog/training_calibration.yaml was fitted to."""
    entries = _load("training_calibration.yaml")["fp8_gemm_efficiency"].values()
    return {e["fitted_to"] for e in entries if "fitted_to" in e}


def checks() -> list[Check]:
    return [check(run) for run in runs()]


def summary(results: list[Check]) -> dict[str, float]:
    errors = np.abs([c.error for c in results])
    held_out = np.abs([c.error for c in results if c.held_out])
    return {
        "runs": len(results),
        "held_out": len(held_out),
        "mdape": float(np.median(errors)),
        "held_out_mdape": float(np.median(held_out)),
        "mean_ape": float(errors.mean()),
        "max_ape": float(errors.max()),
        "within_10_percent": int((errors <= 0.10).sum()),
    }


def physics_checks() -> list[ValidationCheck]:
    """Training throughput, per published run, in the shape of `gigawatt validate physics`."""
    return [
        ValidationCheck(
            group="Training throughput of published runs (tokens/s per GPU)",
            name=c.name,
            predicted=c.predicted_tokens_per_gpu,
            published=c.published_tokens_per_gpu,
            unit="tokens/s/GPU",
            role="held out" if c.held_out else "fitted",
            tolerance=c.tolerance,
            note=c.assumed,
            source=c.source,
        )
        for c in checks()
    ]
