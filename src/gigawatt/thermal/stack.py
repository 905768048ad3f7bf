"""The GPU's thermal stack: junction → package/case → cold plate or heat sink → coolant (DESIGN §4.3).

Two masses carry the dynamics, per GPU:

    C_k · dT_k/dt = P − (T_k − T_s)/R_ks                      package/case (+ die silicon)
    C_s · dT_s/dt = (T_k − T_s)/R_ks − (T_s − T_in)/R_sa      cold plate + trapped coolant, or heat sink

P is the whole GPU's power: the core's and the memory's both end in the package. The die (≈1 J/K behind
R_jc ≈ 0.02 K/W, τ ≈ 0.02 s) and the HBM stacks (< 1 J/K, τ < 0.1 s) settle far within any tick, so they are
algebraic nodes on the package: T_j = T_k + R_jc·P_core, T_hbm = T_k + R_mk·P_mem; their heat capacity is
counted in C_k, so the energy they hold is not lost. (R_jc carries the part-to-part spread and a degraded
thermal interface.)

The network is linear with constant inputs over a tick, so one tick is exact for any length:
x(t+dt) = Φ·x(t) + ψ·P with x = T − T_in, Φ = exp(A·dt) and ψ = (I − Φ)·x_ss per watt. A 2×2 exponential has
a closed form (Sylvester's formula with expm1, accurate when flow stops and the slow mode's rate → 0), so
the factors are a handful of array expressions per GPU, computed when flow or an interface changes.
Each tick the free response (the temperatures the tick would end at with no power) is formed once; the
governor reads it to hold the junction and the HBM at their limits, and the step adds the forced part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.catalog import CatalogError, cooling_catalog, gpu_entry
from gigawatt.safety import excerpt
from gigawatt.units import parse_quantity


@dataclass(frozen=True)
class GpuThermal:
    """The GPU's own part of the network, from its catalog `thermal` block."""

    junction_heat_capacity: float  # J/K, die silicon
    junction_to_case: float  # K/W, die + TIM1
    package_heat_capacity: float  # J/K
    hbm_to_case: float  # K/W, memory power to the package node
    leakage_power: float  # W at the reference temperature
    leakage_reference_temp: float  # C
    leakage_per_kelvin: float  # 1/K
    leakage_voltage_exponent: float
    air_heat_sink: str
    server_fans: str


_GPU_DIMENSIONS = {
    "junction_heat_capacity": "heat_capacity",
    "junction_to_case": "thermal_resistance",
    "package_heat_capacity": "heat_capacity",
    "hbm_to_case": "thermal_resistance",
    "leakage_power": "power",
    "leakage_reference_temp": "temperature",
}


def gpu_thermal(name: str) -> GpuThermal:
    block = gpu_entry(name).get("thermal")
    if block is None:
        raise CatalogError(f"GPU {excerpt(name)} has no `thermal` block in gpus.yaml")
    values = {key: parse_quantity(block[key]["value"], dim) for key, dim in _GPU_DIMENSIONS.items()}
    return GpuThermal(
        **values,
        leakage_per_kelvin=float(block["leakage_per_kelvin"]["value"]),
        leakage_voltage_exponent=float(block["leakage_voltage_exponent"]["value"]),
        air_heat_sink=str(block["air_heat_sink"]["value"]),
        server_fans=str(block["server_fans"]["value"]),
    )


def _specific_heat(key: str) -> float:
    return parse_quantity(cooling_catalog()[key]["value"], "heat_capacity")  # J/(kg·K)


def cold_plate_heat_capacity(plate: str, fluid_specific_heat: float) -> float:
    """Copper plus the coolant trapped in the plate (J/K)."""
    entry = cooling_catalog()["cold_plates"][plate]
    copper = parse_quantity(entry["copper_mass"]["value"], "mass")
    coolant = parse_quantity(entry["coolant_mass"]["value"], "mass")
    return copper * _specific_heat("copper_specific_heat") + coolant * fluid_specific_heat


@dataclass(frozen=True)
class HeatSink:
    heat_capacity: float  # J/K
    base_resistance: float  # K/W, package to the fin stack


def heat_sink(name: str) -> HeatSink:
    sinks = cooling_catalog()["heat_sinks"]
    if name not in sinks:
        raise CatalogError(f"unknown heat sink {excerpt(name)}; known: {', '.join(sinks)}")
    e = sinks[name]
    copper = parse_quantity(e["copper_mass"]["value"], "mass")
    aluminium = parse_quantity(e["aluminium_mass"]["value"], "mass")
    return HeatSink(
        heat_capacity=copper * _specific_heat("copper_specific_heat")
        + aluminium * _specific_heat("aluminium_specific_heat"),
        base_resistance=parse_quantity(e["base_resistance"]["value"], "thermal_resistance"),
    )


def air_path(junction_to_air: float, junction_to_case: float, sink: HeatSink) -> tuple[float, float]:
    """The air stack's two resistances (K/W) below the package: package to fin stack, the heat sink's base;
    fin stack to inlet air, what the whole junction-to-inlet-air resistance leaves after junction-to-case
    and that base (not positive when the whole is too small: the caller refuses it)."""
    return sink.base_resistance, junction_to_air - junction_to_case - sink.base_resistance


@dataclass(frozen=True)
class Network:
    """Exact one-tick factors of the two-mass network, per GPU (arrays, or scalars when uniform)."""

    phi: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # Φ00, Φ01, Φ10, Φ11
    psi: tuple[np.ndarray, np.ndarray]  # ψ_k, ψ_s: end-of-tick rise per watt of GPU power
    heat_capacity: tuple[float, float]  # C_k, C_s
    junction: np.ndarray  # R_jc per GPU
    hbm: float  # R_mk

    def free(self, case: np.ndarray, sink: np.ndarray, coolant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Package and sink temperatures at the end of the tick with no power."""
        f00, f01, f10, f11 = self.phi
        dk, ds = case - coolant, sink - coolant
        return coolant + f00 * dk + f01 * ds, coolant + f10 * dk + f11 * ds

    def forced(
        self, free_case: np.ndarray, free_sink: np.ndarray, power: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Package and sink temperatures at the end of the tick with `power` (W) over it."""
        return free_case + self.psi[0] * power, free_sink + self.psi[1] * power

    def hold(
        self,
        limit: float,
        free_case: np.ndarray,
        resistance: np.ndarray | float,
        share: np.ndarray | float,
        duty: tuple[np.ndarray, float] | None = None,
    ) -> np.ndarray:
        """The GPU power that brings a node hanging off the package (junction: R_jc with the core's share
        1 − s of the power; HBM: R_mk with the memory share s) exactly to `limit` by the tick's end.

        With `duty` = (d, P_base) the GPU draws its kernels' power P for a share d of the tick and P_base
        otherwise: the massive package follows the tick's mean, P_base + d·(P − P_base), while the
        massless node follows the draw itself; the power returned is then the kernels' draw P."""
        psi = self.psi[0]
        if duty is None:
            return (limit - free_case) / (psi + resistance * share)
        d, base = duty
        return (limit - free_case - psi * base * (1.0 - d)) / (psi * d + resistance * share)

    def hold_floor(
        self,
        limit: float,
        free_case_max: float,
        resistance: np.ndarray | float,
        share: tuple[float, float],
        duty: tuple[tuple[float, float], float] | None = None,
    ) -> float:
        """A lower bound on `hold` over every GPU from a few maxima (the hottest free package, the largest
        resistance and ψ, the extreme shares and duties): when it clears every GPU's power cap, no GPU is
        thermally bound this tick and the per-GPU `hold` need not be formed. `share` is (min, max) of the
        share that heats the node; `duty` ((min, max) of d, P_base). −inf where no bound holds."""
        psi_max = float(np.max(self.psi[0]))
        r_max = float(np.max(resistance))
        if duty is None:
            top = limit - free_case_max
            return top / (psi_max + r_max * share[1]) if top > 0 else -np.inf
        (d_min, d_max), base = duty
        top = limit - free_case_max - psi_max * base * (1.0 - d_min)
        return top / (psi_max * d_max + r_max * share[1]) if top > 0 and base >= 0 else -np.inf

    def stored(self, case: np.ndarray | float, sink: np.ndarray | float) -> np.ndarray:
        """Heat held per GPU relative to 0 C (J) (or, given temperature changes, what the masses took in)."""
        return self.heat_capacity[0] * case + self.heat_capacity[1] * sink


def _flat(x: np.ndarray) -> np.ndarray:
    """A factor equal for every GPU as a 0-d array: multiplying by it reads one array instead of two."""
    x = np.asarray(x, dtype=float)
    return np.asarray(x.flat[0]) if x.size and np.all(x == x.flat[0]) else x


def network(
    dt: float,
    case_capacity: float,
    sink_capacity: float,
    case_to_sink: np.ndarray | float,
    sink_to_coolant: np.ndarray | float,
    junction: np.ndarray,
    hbm: float,
) -> Network:
    """Exact factors for a tick of `dt` seconds (Sylvester's formula for the 2×2 exponential)."""
    r_ks = np.asarray(case_to_sink, dtype=float)
    r_sa = np.asarray(sink_to_coolant, dtype=float)
    a = 1.0 / (case_capacity * r_ks)  # A = [[−a, a], [b, −(b + c)]]
    b = 1.0 / (sink_capacity * r_ks)
    c = 1.0 / (sink_capacity * r_sa)
    half_trace = -0.5 * (a + b + c)
    root = np.sqrt(half_trace**2 - a * c)  # > 0: the two rates are always distinct
    fast = half_trace - root
    slow = a * c / fast  # = half_trace + root without the cancellation when c → 0
    e_fast, e_slow = np.expm1(fast * dt), np.expm1(slow * dt)
    gap = fast - slow
    # M = Φ − I = [e_fast·(A − slow·I) − e_slow·(A − fast·I)] / (fast − slow)
    m00 = (e_fast * (-a - slow) - e_slow * (-a - fast)) / gap
    m01 = (e_fast - e_slow) * a / gap
    m10 = (e_fast - e_slow) * b / gap
    m11 = (e_fast * (-(b + c) - slow) - e_slow * (-(b + c) - fast)) / gap
    # ψ = −M·x_ss with the steady rise per watt x_ss = (R_ks + R_sa, R_sa), written so that R_sa (which grows
    # without bound as flow stops) never multiplies a difference of nearly equal terms: with
    # slow·R_sa = a/(C_s·fast) and c·R_sa = 1/C_s, R_sa·(m00 + m01) and R_sa·(m10 + m11) are
    r_slow = a / (sink_capacity * fast)
    r_e_slow = r_sa * e_slow * fast
    sum0 = (r_e_slow - e_fast * r_slow) / gap
    sum1 = (r_e_slow - e_fast * r_slow - (e_fast - e_slow) / sink_capacity) / gap
    psi = (-(sum0 + r_ks * m00), -(sum1 + r_ks * m10))
    return Network(
        phi=(_flat(1.0 + m00), _flat(m01), _flat(m10), _flat(1.0 + m11)),
        psi=(_flat(psi[0]), _flat(psi[1])),
        heat_capacity=(case_capacity, sink_capacity),
        junction=np.asarray(junction, dtype=float),
        hbm=hbm,
    )
