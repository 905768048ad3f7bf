"""The GPU power model's two free constants, solved from the catalog's measured anchors (DESIGN §4.2).

    P = P_idle + (P_max − P_idle) · [(1 − w_m) · a_c · s(f) + w_m · a_m],  s(f) = (f/f_max)(V(f)/V_max)²

is linear in D = P_max − P_idle and E = w_m · D:  P − P_idle = D · a_c · s + E · (a_m − a_c · s).
A GPU's `power_anchors` in catalog/gpus.yaml give one or two measured operating points:

  gemm_clock_at_tdp   the clock a sustained dense GEMM settles at under the default power limit;
  decode_power        what memory-saturated, compute-light decode draws at the boost clock.

The GEMM point is the twin's own 8192³ BF16 GEMM (roofline activities, hardware.roofline) placed so
that the power limiter's choice — the highest clock bin whose power fits the limit — is exactly the
anchor clock: its power is set to the limit half a clock step above the anchor. With both anchors the
2×2 system gives D and E; with the GEMM anchor alone, w_m stays as catalogued and D follows. The anchors
are therefore reproduced by construction, net of the leakage the die adds above its idle-measurement
temperature at each anchor's stated junction temperature (`gemm_temperature`, `decode_temperature`;
power.leakage, the GPU's `thermal` block); `gemm_capped_clock` recomputes the clock the way the governor
does, for the test and for `gigawatt validate physics`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gigawatt.catalog import CatalogError, GpuSpec

# The anchor GEMM: 8192³ in BF16, the size of the published clock measurements' kernels.
GEMM_N = 8192
GEMM_PRECISION = "bf16"
# Decode activities: memory streaming the weights and KV all the time, tensor cores nearly idle.
# Assumption: a decode step's GEMMs do ~2·batch FLOPs per 2-byte weight read, so at batch 1–16 they reach
# 0.3–5 % of an H100's bf16 ridge (~295 FLOP/B); the upper end is taken. Not held out against any figure.
DECODE_COMPUTE_ACTIVITY = 0.05
DECODE_MEMORY_ACTIVITY = 1.0


def gemm_activity(gpu: GpuSpec, clocks_mhz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a_c, a_m) of the anchor GEMM at each clock: busy shares of the math pipes and of HBM."""
    from gigawatt.hardware.roofline import efficiency, op_times  # the roofline needs the catalog

    n = float(GEMM_N)
    bytes_per = 2.0
    t, t_c, t_m = op_times(
        2.0 * n**3, 3.0 * n * n * bytes_per, gpu, GEMM_PRECISION, clocks_mhz, efficiency(gpu.name)
    )
    return t_c / t, t_m / t


def anchor_leakage(
    gpu: GpuSpec, anchors: dict[str, Any], thermal: dict[str, Any] | None, which: str, clock_mhz: float
) -> float:
    """Leakage above the idle-measurement value at an anchor's junction temperature and clock (W); 0 for a
    GPU without a thermal block or an anchor without a temperature."""
    from gigawatt.power.dvfs import voltage
    from gigawatt.power.leakage import Leakage
    from gigawatt.units import parse_quantity

    if thermal is None or f"{which}_temperature" not in anchors:
        return 0.0
    leak = Leakage.of(thermal)
    temp = parse_quantity(anchors[f"{which}_temperature"]["value"], "temperature")
    scale = leak.voltage_scale(voltage(gpu, np.array([clock_mhz])) / gpu.voltage_max)
    return float(leak.extra(np.array([temp]), scale)[0])


def solve(gpu: GpuSpec, anchors: dict[str, Any], thermal: dict[str, Any] | None = None) -> GpuSpec:
    """`gpu` with power_full_activity (and, given a decode anchor, memory_power_fraction) solved from the
    anchors, net of leakage at their temperatures; the sources say so."""
    from gigawatt.power.dvfs import dynamic_scale  # dvfs imports the catalog's GpuSpec
    from gigawatt.units import parse_quantity

    f_g = parse_quantity(anchors["gemm_clock_at_tdp"]["value"], "frequency")
    f_edge = np.array([f_g + 0.5 * gpu.clock_step])
    a_c1, a_m1 = (float(x[0]) for x in gemm_activity(gpu, f_edge))
    s1 = float(dynamic_scale(gpu, f_edge)[0])
    rows = [[a_c1 * s1, a_m1 - a_c1 * s1]]
    rhs = [gpu.tdp - gpu.idle_power - anchor_leakage(gpu, anchors, thermal, "gemm", float(f_edge[0]))]
    decode = anchors.get("decode_power")
    if decode is not None:
        s2 = float(dynamic_scale(gpu, np.array([gpu.clock_boost]))[0])
        a_c2, a_m2 = DECODE_COMPUTE_ACTIVITY, DECODE_MEMORY_ACTIVITY
        rows.append([a_c2 * s2, a_m2 - a_c2 * s2])
        leak = anchor_leakage(gpu, anchors, thermal, "decode", gpu.clock_boost)
        rhs.append(parse_quantity(decode["value"], "power") - gpu.idle_power - leak)
        d, e = np.linalg.solve(np.array(rows), np.array(rhs))
        w_m = float(e / d)
    else:
        w_m = gpu.memory_power_fraction
        d = rhs[0] / (rows[0][0] + w_m * rows[0][1])
    if not (d > 0 and 0.0 <= w_m < 1.0):
        raise CatalogError(
            f"{gpu.name}: power_anchors give no physical P_max/w_m (D = {d:.0f} W, w_m = {w_m:.3f})"
        )
    how = "solved from power_anchors (gigawatt.power.anchors): " + "; ".join(
        f"{k} {v['value']} ({v['source']})" for k, v in anchors.items()
    )
    sources = dict(gpu.sources)
    sources["power_full_activity"] = how
    if decode is not None:
        sources["memory_power_fraction"] = how
    return dataclasses.replace(
        gpu,
        power_full_activity=float(gpu.idle_power + d),
        memory_power_fraction=w_m,
        sources=sources,
    )


def _leakage_at(gpu: GpuSpec, which: str, clocks_mhz: np.ndarray) -> np.ndarray:
    """Leakage at the named anchor's temperature for each clock, from the GPU's catalog entry."""
    from gigawatt.catalog import gpu_entry

    entry = gpu_entry(gpu.name)
    anchors, thermal = entry.get("power_anchors", {}), entry.get("thermal")
    return np.array([anchor_leakage(gpu, anchors, thermal, which, float(f)) for f in clocks_mhz])


def gemm_capped_clock(gpu: GpuSpec, limit_w: float | None = None) -> float:
    """The clock (MHz) the power limiter picks for the anchor GEMM under `limit_w` (default: TDP), with the
    die at the anchor's temperature."""
    from gigawatt.power.dvfs import clock_grid
    from gigawatt.power.gpu_power import gpu_power

    clocks = clock_grid(gpu)
    a_c, a_m = gemm_activity(gpu, clocks)
    draw = gpu_power(gpu, clocks, a_c, a_m) + _leakage_at(gpu, "gemm", clocks)
    power = np.maximum.accumulate(draw)
    k = int(np.searchsorted(power, gpu.tdp if limit_w is None else limit_w, side="right")) - 1
    return float(clocks[max(k, 0)])


def decode_power_w(gpu: GpuSpec) -> float:
    """Board power of memory-saturated decode at the boost clock (the decode anchor's operating point),
    with the die at the anchor's temperature."""
    from gigawatt.power.gpu_power import gpu_power

    clock = np.array([gpu.clock_boost])
    draw = gpu_power(gpu, clock, DECODE_COMPUTE_ACTIVITY, DECODE_MEMORY_ACTIVITY)
    draw = draw + _leakage_at(gpu, "decode", clock)
    return float(draw[0])
