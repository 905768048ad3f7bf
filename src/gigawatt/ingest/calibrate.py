"""`gigawatt calibrate power`: the GPU power model's parameters fitted to telemetry (DESIGN §4.2).

    P = P_idle + X · a_c · s(f) + Y · a_m,   s(f) = (f/f_max) · (V(f)/V_max)²,
    X = (P_max − P_idle)(1 − w_m),  Y = (P_max − P_idle) · w_m

a_c is the graphics-engine activity (DCGM_FI_PROF_GR_ENGINE_ACTIVE, nvidia-smi utilization.gpu), a_m the
memory activity (DCGM_FI_PROF_DRAM_ACTIVE; else nvidia-smi utilization.memory as a proxy; else none, and
w_m stays as catalogued). V(f) sits at V_min up to the knee clock, then rises linearly to V_max at boost:
only the ratio V_min/V_max enters s(f), so V_max stays as catalogued and V_min is fitted.

For a fixed knee and ratio the model is linear in (P_idle, X, Y); it is solved by least squares on the
relative error (rows weighted by 1/P, i.e. log error to first order), and the knee and ratio by a grid
over both. The last `holdout` share of the time span is kept out of the fit and its error reported:
time-blocked, as neighbouring samples of a log are nearly the same sample.

The twin draws (P_idle + dynamic) + leakage, the leakage above its reference temperature rising with the die
temperature and the core voltage (power.leakage; the catalog's power anchors are solved net of it). Where the
telemetry has the GPU temperature (DCGM_FI_DEV_GPU_TEMP, nvidia-smi temperature.gpu), the catalog's leakage
at each sample's temperature and voltage is taken out of the measured power before the fit and added back
in every prediction the errors judge, the fit's and the catalog's; otherwise the fitted idle and P_max absorb
it and the twin would add it a second time. The voltage is the one of the V–f curve being judged (each grid
point's in the fit, the catalog's for the catalog): the twin computes leakage through the curve it is given,
so pasting the fitted parameters reproduces the prediction the fit scored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from gigawatt.catalog import GpuSpec, gpu_entry
from gigawatt.ingest.schema import DRAM_ACTIVE, MEM_COPY_UTIL
from gigawatt.ingest.table import IngestError
from gigawatt.power.dvfs import dynamic_scale, voltage
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.leakage import Leakage
from gigawatt.telemetry import ACTIVE, GPU_TEMP, POWER, SM_CLOCK

KNEE_STEPS = 45
RATIO_GRID = np.linspace(0.5, 1.0, 51)
MIN_ROWS = 20
# The knee and V_min/V_max shape s(f) only when the clock moves: below this spread (p95/p5) they stay.
CLOCK_SPREAD_FOR_VF = 1.25


@dataclass(frozen=True)
class PowerFit:
    gpu: GpuSpec  # the catalog GPU with the fitted parameters in place
    catalog: GpuSpec
    fitted: tuple[str, ...]  # GpuSpec fields fitted; the others kept as catalogued
    memory_activity: str  # the column read as a_m, or "" when none
    leakage_separated: bool  # the catalog's leakage at the measured GPU temperature taken out before the fit
    holdout: float  # share of the time span held out (its end)
    rows_fit: int
    rows_held: int
    mdape_fit: float
    mdape_held: float
    mdape_held_catalog: float  # the catalog model on the same held-out rows
    notes: tuple[str, ...]


def _columns(table: pa.Table) -> tuple[dict[str, np.ndarray], str, list[str]]:
    notes = []
    need = (POWER, SM_CLOCK, ACTIVE)
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise IngestError(
            f"the telemetry has no {', '.join(missing)} column: the power fit needs power, SM clock and "
            "activity (nvidia-smi power.draw, clocks.sm, utilization.gpu; or the DCGM fields)"
        )
    cols = {c: table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in (*need, "time_s")}
    if DRAM_ACTIVE in table.column_names:
        mem = DRAM_ACTIVE
        cols["a_m"] = table.column(mem).to_numpy(zero_copy_only=False).astype(float)
    elif MEM_COPY_UTIL in table.column_names:
        mem = MEM_COPY_UTIL
        cols["a_m"] = table.column(mem).to_numpy(zero_copy_only=False).astype(float) / 100.0
        notes.append(f"memory activity from {MEM_COPY_UTIL} (utilization.memory), a proxy for DRAM_ACTIVE")
    else:
        mem = ""
        notes.append("no memory activity column: memory_power_fraction kept as catalogued")
    if GPU_TEMP in table.column_names:
        temp = table.column(GPU_TEMP).to_numpy(zero_copy_only=False).astype(float)
        if np.isfinite(temp).any():
            cols["temp"] = temp
    keep = np.ones(len(cols["time_s"]), dtype=bool)
    for v in cols.values():
        keep &= np.isfinite(v)
    keep &= (cols[POWER] > 0) & (cols[SM_CLOCK] > 0)  # a clock of 0: the GPU is down
    return {k: v[keep] for k, v in cols.items()}, mem, notes


def _leakage(gpu: GpuSpec, cols: dict[str, np.ndarray]) -> tuple[Leakage | None, np.ndarray | None, str]:
    """The GPU's catalog leakage and its value at each row's temperature at the top voltage (W), or None and
    the reason it is not separated."""
    if "temp" not in cols:
        return None, None, (
            f"no {GPU_TEMP} column (nvidia-smi temperature.gpu): leakage not separated, so the fitted idle "
            "and P_max include the leakage above its reference temperature, which the twin adds again"
        )
    thermal = gpu_entry(gpu.name).get("thermal")
    if thermal is None:
        return None, None, f"{gpu.name} has no thermal block in gpus.yaml: leakage not separated"
    leak = Leakage.of(thermal)
    return leak, leak.extra(cols["temp"]), (
        f"leakage separated: the catalog's ({leak.static_w:.0f} W at {leak.reference_c:.0f} C and V_max) at "
        f"the measured {GPU_TEMP} and the V-f curve's voltage, out of the fit and back in every prediction"
    )


def _solve(design: np.ndarray, target: np.ndarray, power: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares of design · coef on target, on the error relative to the measured power; coefficients
    kept non-negative by dropping the offending term."""
    w = design / power[:, None]
    rhs = target / power
    active = list(range(design.shape[1]))
    while True:
        coef, *_ = np.linalg.lstsq(w[:, active], rhs, rcond=None)
        if (coef >= 0).all() or len(active) == 1:
            break
        active.pop(int(np.argmin(coef)))
    full = np.zeros(design.shape[1])
    full[active] = coef
    resid = w @ full - rhs
    return full, float(resid @ resid)


def _mdape(pred: np.ndarray, meas: np.ndarray) -> float:
    return float(np.median(np.abs(pred / meas - 1.0))) if len(meas) else float("nan")


def fit_power(table: pa.Table, gpu: GpuSpec, holdout: float = 0.25) -> PowerFit:
    if not 0.0 < holdout < 1.0:
        raise IngestError(f"--holdout must be between 0 and 1 (a share of the time span), not {holdout:g}")
    cols, mem, notes = _columns(table)
    leak, heat, leak_note = _leakage(gpu, cols)
    notes.append(leak_note)
    t = cols["time_s"]
    if len(t) < MIN_ROWS:
        raise IngestError(
            f"only {len(t)} usable rows (power, clock and activity all present); need {MIN_ROWS}"
        )
    cut = t.min() + (1.0 - holdout) * (t.max() - t.min())
    train, held = t <= cut, t > cut
    if train.sum() < MIN_ROWS // 2 or held.sum() == 0:
        raise IngestError(f"the time span does not split into fit and held-out rows at {holdout:.0%}")
    f, a_c, p = cols[SM_CLOCK], cols[ACTIVE], cols[POWER]
    a_m = cols.get("a_m", np.zeros_like(p))
    w_m_cat = gpu.memory_power_fraction
    ratio_cat = gpu.voltage_min / gpu.voltage_max
    lo, hi = np.percentile(f[train], [5, 95])
    shape_free = hi / lo >= CLOCK_SPREAD_FOR_VF
    if not shape_free:
        notes.append(f"SM clock spans {lo:.0f}-{hi:.0f} MHz only: voltage knee and V_min kept as catalogued")
    knees = (
        np.linspace(gpu.clock_min, gpu.clock_boost, KNEE_STEPS) if shape_free else [gpu.voltage_knee_clock]
    )
    ratios = RATIO_GRID if shape_free else [ratio_cat]

    def curve(knee: float, ratio: float) -> GpuSpec:
        vmin = float(ratio * gpu.voltage_max)
        return dataclasses.replace(gpu, voltage_knee_clock=float(knee), voltage_min=vmin)

    def leakage(spec: GpuSpec, rows: np.ndarray) -> np.ndarray | float:
        """The catalog leakage at each row's temperature and at the voltage of spec's V-f curve."""
        if leak is None or heat is None:
            return 0.0
        return heat[rows] * leak.voltage_scale(voltage(spec, f[rows]) / spec.voltage_max)

    def design(spec: GpuSpec, rows: np.ndarray) -> np.ndarray:
        s = a_c[rows] * dynamic_scale(spec, f[rows])
        if mem:
            return np.column_stack([np.ones(rows.sum()), s, a_m[rows]])
        # w_m as catalogued: one dynamic term with the catalog's split between compute and memory
        return np.column_stack([np.ones(rows.sum()), s])

    best = None
    for knee in knees:
        for ratio in ratios:
            spec = curve(knee, ratio)
            coef, sse = _solve(design(spec, train), p[train] - leakage(spec, train), p[train])
            if best is None or sse < best[0]:
                best = (sse, knee, ratio, coef)
    assert best is not None
    _, knee, ratio, coef = best
    idle = coef[0]
    if mem:
        x, y = coef[1], coef[2]
        dyn = x + y
        w_m = y / dyn if dyn > 0 else w_m_cat
    else:
        dyn = coef[1] / (1.0 - w_m_cat)
        w_m = w_m_cat
    fitted_fields = ["idle_power", "power_full_activity"] + (["memory_power_fraction"] if mem else [])
    if shape_free:
        fitted_fields += ["voltage_knee_clock", "voltage_min"]
    fitted = dataclasses.replace(
        curve(knee, ratio),
        idle_power=float(idle),
        power_full_activity=float(idle + dyn),
        memory_power_fraction=float(w_m),
    )

    def predict(spec: GpuSpec, rows: np.ndarray) -> np.ndarray:
        return gpu_power(spec, f[rows], a_c[rows], a_m[rows] if mem else 0.0) + leakage(spec, rows)

    return PowerFit(
        gpu=fitted,
        catalog=gpu,
        fitted=tuple(fitted_fields),
        memory_activity=mem,
        leakage_separated=leak is not None,
        holdout=holdout,
        rows_fit=int(train.sum()),
        rows_held=int(held.sum()),
        mdape_fit=_mdape(predict(fitted, train), p[train]),
        mdape_held=_mdape(predict(fitted, held), p[held]),
        mdape_held_catalog=_mdape(predict(gpu, held), p[held]),
        notes=tuple(notes),
    )


# (GpuSpec field, label, unit, factor into the unit, catalog YAML value format)
PARAMETERS = (
    ("idle_power", "idle power", "W", 1.0, '"{:.1f} W"'),
    ("power_full_activity", "full-activity power P_max", "W", 1.0, '"{:.0f} W"'),
    ("memory_power_fraction", "memory power share w_m", "", 1.0, "{:.3f}"),
    ("voltage_knee_clock", "voltage knee clock", "MHz", 1.0, '"{:.0f} MHz"'),
    ("voltage_min", "voltage floor V_min", "mV", 1e3, '"{:.0f} mV"'),
)


def yaml_snippet(fit: PowerFit, source_name: str) -> str:
    """Catalog lines for the fitted parameters, each saying what it was fitted to."""
    where = (
        f"fitted: gigawatt calibrate power to {source_name}, {fit.rows_fit + fit.rows_held:,} rows "
        f"({fit.rows_held:,} held out: the last {fit.holdout:.0%} of the time span), "
        f"held-out MdAPE {fit.mdape_held * 100:.1f} %"
    )
    lines = [f"{fit.gpu.name}:"]
    if "power_full_activity" in fit.fitted:
        lines.append("  # replaces power_anchors (and the null power_full_activity / memory_power_fraction)")
    for field, _, _, factor, fmt in PARAMETERS:
        if field in fit.fitted:
            value = fmt.format(getattr(fit.gpu, field) * factor)
            lines.append(f'  {field}: {{value: {value}, source: "{where}"}}')
    return "\n".join(lines) + "\n"
