"""Fit the roofline efficiencies and the all-reduce links to measured timings (numpy only, deterministic).

Roofline: eta_c, eta_m, t_launch and the overlap exponent p of `hardware.roofline.op_times`, by
minimising the mean absolute log error (robust to the noisy small-kernel rows, and scale-free, so
1 µs and 10 ms GEMMs count alike) with Nelder–Mead in log-parameter space.

All-reduce: `t = 2(n-1)/n · S / BW + 2(n-1) · latency` is linear in 1/BW and latency, so each
measured configuration is fitted by iteratively reweighted least squares on the relative error
(weights 1/|r| turn it into least absolute relative error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gigawatt.calibration.vidur import ComputeRows
from gigawatt.catalog import GpuSpec
from gigawatt.hardware.collectives import Link, ring_all_reduce_time
from gigawatt.hardware.roofline import Efficiency, op_times

PRECISION = "bf16"  # see calibration.predict.PRECISION


def mdape(pred: np.ndarray, measured: np.ndarray) -> float:
    """Median absolute percentage error, in percent."""
    return float(np.median(np.abs(pred / measured - 1.0)) * 100.0)


def nelder_mead(f: Callable[[np.ndarray], float], x0: np.ndarray, step: float = 0.3,
                max_iter: int = 2000, tol: float = 1e-10) -> np.ndarray:
    """Minimise f from x0 with the Nelder–Mead simplex (standard coefficients); deterministic."""
    n = len(x0)
    simplex = np.vstack([x0, x0 + step * np.eye(n)])
    values = np.array([f(x) for x in simplex])
    for _ in range(max_iter):
        order = np.argsort(values, kind="stable")
        simplex, values = simplex[order], values[order]
        if values[-1] - values[0] <= tol * (abs(values[0]) + tol):
            break
        centroid = simplex[:-1].mean(axis=0)
        reflected = 2.0 * centroid - simplex[-1]
        f_r = f(reflected)
        if f_r < values[0]:
            expanded = 3.0 * centroid - 2.0 * simplex[-1]
            f_e = f(expanded)
            simplex[-1], values[-1] = (expanded, f_e) if f_e < f_r else (reflected, f_r)
        elif f_r < values[-2]:
            simplex[-1], values[-1] = reflected, f_r
        else:
            inner = f_r >= values[-1]
            contracted = centroid + 0.5 * ((simplex[-1] if inner else reflected) - centroid)
            f_c = f(contracted)
            if f_c < min(f_r, values[-1]):
                simplex[-1], values[-1] = contracted, f_c
            else:  # shrink towards the best point
                simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
                values[1:] = [f(x) for x in simplex[1:]]
    return simplex[np.argmin(values)]


def _efficiency(z: np.ndarray, source: str) -> Efficiency:
    """Log parameters -> Efficiency; p = 1 + e^z keeps the p-norm a norm."""
    return Efficiency(compute=float(np.exp(z[0])), memory=float(np.exp(z[1])), launch_s=float(np.exp(z[2])),
                      overlap_p=float(1.0 + np.exp(z[3])), source=source)


def fit_efficiency(flops: np.ndarray, traffic: np.ndarray, measured: np.ndarray, spec: GpuSpec,
                   source: str = "fit") -> Efficiency:
    """The roofline efficiency that best predicts `measured` (s) on `spec` at its boost clock."""
    log_measured = np.log(measured)

    def loss(z: np.ndarray) -> float:
        t = op_times(flops, traffic, spec, PRECISION, spec.clock_boost, _efficiency(z, source))[0]
        return float(np.mean(np.abs(np.log(t) - log_measured)))

    z = np.log([0.7, 0.8, 5e-6, 0.5])
    for _ in range(3):  # restarts: a fresh simplex escapes a collapsed one
        z = nelder_mead(loss, z)
    return _efficiency(z, source)


@dataclass(frozen=True)
class RooflineFit:
    efficiency: Efficiency
    rows: int
    models: int
    mdape_in_sample: float  # %
    mdape_held_out: float | None  # %, each model predicted by a fit to the other models; None for one model


def fit_gpu(rows: ComputeRows, flops: np.ndarray, traffic: np.ndarray, spec: GpuSpec,
            source: str) -> RooflineFit:
    """Fit one GPU's rows, and score it leave-one-model-out so the reported error is out of sample."""
    eff = fit_efficiency(flops, traffic, rows.measured, spec, source)
    pred = op_times(flops, traffic, spec, PRECISION, spec.clock_boost, eff)[0]
    models = np.unique(rows.model)
    held_out = None
    if len(models) > 1:
        pred_out = np.empty(len(rows))
        for model in models:  # one fit per model left out
            out = rows.model == model
            eff_out = fit_efficiency(flops[~out], traffic[~out], rows.measured[~out], spec)
            pred_out[out] = op_times(flops[out], traffic[out], spec, PRECISION, spec.clock_boost, eff_out)[0]
        held_out = mdape(pred_out, rows.measured)
    return RooflineFit(eff, len(rows), len(models), mdape(pred, rows.measured), held_out)


def fit_link(size: np.ndarray, n: int, measured: np.ndarray, iterations: int = 50) -> Link:
    """Bus bandwidth and per-step latency of a ring all-reduce over `n` GPUs (least abs. relative error)."""
    steps = 2.0 * (n - 1)
    design = np.stack([steps / n * size, np.full_like(size, steps)], axis=1) / measured[:, None]
    weights = np.ones(len(size))
    coef = np.zeros(2)
    for _ in range(iterations):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(design * sw[:, None], sw, rcond=None)[0]
        weights = 1.0 / np.maximum(np.abs(design @ coef - 1.0), 1e-4)
    inv_bandwidth, latency = coef
    if latency <= 0 or inv_bandwidth <= 0:  # fall back to the one-term model the data supports
        inv_bandwidth, latency = max(inv_bandwidth, 1e-15), max(latency, 0.0)
    return Link(bandwidth=float(1.0 / inv_bandwidth), latency=float(latency))


@dataclass(frozen=True)
class LinkFit:
    setup: str
    num_workers: int
    devices_per_node: int
    link: Link
    rows: int
    mdape_in_sample: float  # %
    mdape_held_out: float  # %, two folds: alternate sizes fitted, the others predicted


def fit_group(setup: str, n: int, dpn: int, size: np.ndarray, measured: np.ndarray) -> LinkFit:
    link = fit_link(size, n, measured)
    pred = ring_all_reduce_time(size, n, link)
    fold = np.argsort(np.argsort(size, kind="stable"), kind="stable") % 2 == 0
    pred_out = np.empty(len(size))
    for part in (fold, ~fold):
        pred_out[part] = ring_all_reduce_time(size[part], n, fit_link(size[~part], n, measured[~part]))
    return LinkFit(setup, n, dpn, link, len(size), mdape(pred, measured), mdape(pred_out, measured))
