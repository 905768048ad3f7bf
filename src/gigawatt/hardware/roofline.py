"""Roofline operator timing under DVFS (DESIGN §4.1).

    t_c = F / (eta_c · F_peak · f / f_boost),   t_m = B / (eta_m · BW_hbm)
    t   = (t_c^p + t_m^p)^(1/p) + t_launch

The p-norm is a smooth roofline: p → ∞ is the plain max(t_c, t_m) of DESIGN §4.1, a finite p says
that compute and memory traffic do not overlap perfectly near the ridge point, where a GEMM is
neither purely compute- nor purely memory-bound (at p = 1 they would not overlap at all). Measured
GEMMs (vidur profiles on A100, A40, H100) fit p ≈ 1.4–1.7 with ~1 percentage point lower median
error than the plain max, at no extra cost.

HBM bandwidth does not follow the SM clock, so memory-bound work (decode) barely slows when the clock
drops while compute-bound work (prefill) slows almost in proportion. `eta_c`, `eta_m`, `p` and
`t_launch` are per-GPU values fitted to measured operator timings (catalog/calibration.yaml `roofline`,
refit with scripts/fit_roofline.py) where such timings exist (A100, A40, H100), and otherwise to
published end-to-end serving throughputs (`roofline_published`, refit with scripts/fit_published.py).

`compute` is the bf16 GEMM efficiency. FP8 GEMMs (scaled casts, amax bookkeeping) reach a smaller
share of their doubled peak: at fp8 the compute efficiency is `compute` times the FP8/bf16 ratio fitted
to published FP8 training runs (catalog/training_calibration.yaml), the ratio the training step uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from gigawatt.arch.ops import Op
from gigawatt.catalog import GpuSpec, _load


@dataclass(frozen=True)
class Efficiency:
    compute: float  # eta_c: achieved / peak tensor FLOP/s on large GEMMs
    memory: float  # eta_m: achieved / peak HBM bandwidth on streaming kernels
    launch_s: float  # fixed cost per operator (kernel launch and tail)
    source: str
    overlap_p: float = math.inf  # p of the p-norm combining t_c and t_m; inf = plain max


# Used for a GPU without a calibration entry; stated, not fitted.
DEFAULT_EFFICIENCY = Efficiency(
    compute=0.70,
    memory=0.80,
    launch_s=5e-6,
    source="assumption: typical large-GEMM and streaming efficiencies; no fit for this GPU",
)


# Sections of calibration.yaml searched in order: measured operator timings first, then the fit to
# published end-to-end serving figures for GPUs without operator timings.
ROOFLINE_SECTIONS = ("roofline", "roofline_published")


@cache
def efficiency(gpu_name: str) -> Efficiency:
    try:
        cal = _load("calibration.yaml")
    except FileNotFoundError:
        return DEFAULT_EFFICIENCY
    entry = next((cal[s][gpu_name] for s in ROOFLINE_SECTIONS if gpu_name in (cal.get(s) or {})), None)
    if entry is None:
        return DEFAULT_EFFICIENCY
    return Efficiency(
        compute=float(entry["compute"]),
        memory=float(entry["memory"]),
        launch_s=float(entry["launch_s"]),
        source=str(entry["source"]),
        overlap_p=float(entry.get("overlap_p", math.inf)),
    )


@cache
def fp8_gemm_ratio(gpu_name: str) -> float:
    """FP8 GEMM efficiency / bf16 GEMM efficiency, each against its own peak (training_calibration.yaml)."""
    entries = _load("training_calibration.yaml")["fp8_gemm_efficiency"]
    return float(entries.get(gpu_name, entries["default"])["value"])


def compute_efficiency(eff: Efficiency, gpu_name: str, precision: str) -> float:
    """Achieved share of the tensor peak of `precision`: `compute`, discounted for FP8 GEMMs."""
    return eff.compute * fp8_gemm_ratio(gpu_name) if precision == "fp8" else eff.compute


@dataclass(frozen=True)
class OpTiming:
    """Per-clock totals over a list of operators: arrays indexed like the clocks given."""

    time: np.ndarray  # s
    compute_busy: np.ndarray  # s the math pipes are busy
    memory_busy: np.ndarray  # s HBM is streaming


def op_times(
    flops: np.ndarray,
    traffic: np.ndarray,
    gpu: GpuSpec,
    precision: str,
    clocks_mhz: np.ndarray | float,
    eff: Efficiency,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-operator (time, t_c, t_m) in s; flops, traffic and clocks broadcast against each other."""
    f = np.asarray(clocks_mhz, dtype=float)
    t_c = np.asarray(flops, dtype=float) / (eff.compute * gpu.peak_flops(precision) * f / gpu.clock_boost)
    t_m = np.asarray(traffic, dtype=float) / (eff.memory * gpu.hbm_bandwidth)
    t_c, t_m = np.broadcast_arrays(t_c, t_m)
    return soft_max(t_c, t_m, eff.overlap_p) + eff.launch_s, t_c, t_m


def soft_max(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """(a^p + b^p)^(1/p), scaled by the larger term so that large p cannot overflow; p = inf is max."""
    hi = np.maximum(a, b)
    if math.isinf(p):
        return hi
    lo = np.minimum(a, b)
    ratio = np.divide(lo, hi, out=np.zeros_like(hi), where=hi > 0)
    return hi * (1.0 + ratio**p) ** (1.0 / p)


def time_ops(
    ops: list[Op], gpu: GpuSpec, precision: str, clocks_mhz: np.ndarray, eff: Efficiency | None = None
) -> OpTiming:
    """Time a list of operators at each clock in `clocks_mhz` (vectorised over clocks and operators);
    `eff` is the bf16 efficiency, discounted here for FP8 GEMMs."""
    eff = eff or efficiency(gpu.name)
    eff = replace(eff, compute=compute_efficiency(eff, gpu.name, precision))
    flops = np.array([op.flops for op in ops], dtype=float)
    traffic = np.array([op.bytes for op in ops], dtype=float)
    count = np.array([op.count for op in ops], dtype=float)
    f = np.asarray(clocks_mhz, dtype=float)[:, None]
    t, t_c, t_m = op_times(flops, traffic, gpu, precision, f, eff)
    return OpTiming(time=t @ count, compute_busy=t_c @ count, memory_busy=t_m @ count)
