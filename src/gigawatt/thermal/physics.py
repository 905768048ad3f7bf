"""Published checks of the thermal stack, leakage and server fans, for `gigawatt validate physics`."""

from __future__ import annotations

import numpy as np

from gigawatt.catalog import cooling_catalog
from gigawatt.power.fans import server_fans
from gigawatt.thermal import stack
from gigawatt.thermal.cold_plate import cold_plate, liquid_path
from gigawatt.units import parse_quantity
from gigawatt.validation.check import Check

GPU = "H100-SXM"
PLATE = "oam-1kW-water"
FLOW = 2.0  # L/min per cold plate, as the liquid-cooled examples
POWER = 700.0  # W, an H100 SXM at its power limit (GPU Burn runs at the cap)
AIR_RESISTANCE = 0.082  # K/W junction to inlet air, as examples/hot-hall.yaml
LATIF = (
    "Latif et al., 'Cooling Matters: Benchmarking LLMs and VLMs on liquid-cooled versus air-cooled H100 GPU "
    "systems', arXiv 2507.16781 (2025): two 8x H100 HGX nodes under GPU Burn and training"
)


def _liquid(dt: float, flow: float, tin: float = 0.0) -> tuple[stack.Network, float, float]:
    th, plate = stack.gpu_thermal(GPU), cold_plate(PLATE)
    fluid = cooling_catalog()["fluids"]["water"]
    cp = parse_quantity(fluid["specific_heat"]["value"], "heat_capacity")
    to_sink, to_coolant = liquid_path(plate, flow, float(fluid["density_kg_per_l"]["value"]), cp)
    net = stack.network(
        dt,
        th.junction_heat_capacity + th.package_heat_capacity,
        stack.cold_plate_heat_capacity(PLATE, cp),
        to_sink,
        to_coolant,
        np.array([th.junction_to_case]),
        th.hbm_to_case,
    )
    return net, to_sink, float(to_coolant)


def steady_junction(inlet: float, power: float = POWER) -> float:
    """Liquid-cooled H100 junction temperature at steady full load."""
    th = stack.gpu_thermal(GPU)
    _, to_sink, to_coolant = _liquid(1.0, FLOW)
    return inlet + power * (th.junction_to_case + to_sink + to_coolant)


def pump_stop_time(inlet: float = 34.0, power: float = POWER, limit: float = 87.0) -> tuple[float, float]:
    """Seconds from a stopped flow to a junction at `limit` at constant power: the exact network stepped
    at 0.1 s, and the lumped closed form (both masses heat together at P/ΣC, the junction leading the mean
    by P·(R_jc + R_ks·C_s/ΣC))."""
    th = stack.gpu_thermal(GPU)
    _, to_sink, to_coolant = _liquid(1.0, FLOW)
    stopped, _, _ = _liquid(0.1, 0.0)
    c_k, c_s = stopped.heat_capacity
    case = np.array([inlet + power * (to_sink + to_coolant)])
    sink = np.array([inlet + power * to_coolant])
    t = 0.0
    while case[0] + th.junction_to_case * power < limit and t < 600.0:
        case, sink = stopped.forced(*stopped.free(case, sink, inlet), np.array([power]))
        t += 0.1
    total = c_k + c_s
    start_mean = (c_k * (inlet + power * (to_sink + to_coolant)) + c_s * (inlet + power * to_coolant)) / total
    lead = power * (th.junction_to_case + to_sink * c_s / total)
    return t, (limit - lead - start_mean) * total / power


def air_time_constant() -> tuple[float, float]:
    """The air-cooled stack's slow time constant (s): from the exact factors, and R_sa·(C_k + C_s)."""
    th = stack.gpu_thermal(GPU)
    sink = stack.heat_sink(th.air_heat_sink)
    base, to_air = stack.air_path(AIR_RESISTANCE, th.junction_to_case, sink)
    c_k = th.junction_heat_capacity + th.package_heat_capacity
    dt = 1.0
    net = stack.network(dt, c_k, sink.heat_capacity, base, to_air, np.array([0.0]), 0.0)
    # The slow mode is what is left of a unit rise after the fast one has died away: decay over dt.
    f00, f01, f10, f11 = (float(np.asarray(x)) for x in net.phi)
    slow = 0.5 * (f00 + f11) + np.sqrt(0.25 * (f00 - f11) ** 2 + f01 * f10)
    return -dt / float(np.log(slow)), to_air * (c_k + sink.heat_capacity)


def physics_checks() -> list[Check]:
    th = stack.gpu_thermal(GPU)
    exact, closed = pump_stop_time()
    tau, tau_closed = air_time_constant()
    fans = server_fans(stack.gpu_thermal(GPU).server_fans)
    rise = [float(fans.power(t, 1)) - float(fans.power(20.0, 1)) for t in (27.0, 31.0)]
    air_junction = 24.0 + POWER * AIR_RESISTANCE
    return [
        Check(
            "thermal",
            "H100 junction at 700 W, liquid (2 L/min, 25 C inlet)",
            steady_junction(25.0),
            (41.0, 50.0),
            "C",
            "other",
            note=(
                "the paper gives neither its coolant inlet temperature nor its flow; at a 20 C inlet the "
                f"model reads {steady_junction(20.0):.1f} C. Junction = inlet + P x (R_jc + cold plate R(q) "
                "+ 1/(2 m c_p)); R_jc is derived (die + TIM1), the plate R(q) measured (OCP, Chen et al. "
                "2023)"
            ),
            source=LATIF + ": liquid-cooled GPUs held 41-50 C under load",
        ),
        Check(
            "thermal",
            "H100 junction at 700 W, air (24 C inlet, 0.082 K/W)",
            air_junction,
            (54.0, 72.0),
            "C",
            "other",
            note=(
                "junction-to-air resistance of the hot-hall example, not the paper's servers; the paper's "
                "air-cooled GPUs ran 17% slower (46 vs 54 TFLOPs), below 700 W"
            ),
            source=LATIF + ": air-cooled GPUs fluctuated 54-72 C under load",
        ),
        Check(
            "thermal",
            "pump stop: time to 87 C at 700 W (34 C loop)",
            exact,
            closed,
            "s",
            "model",
            tolerance=0.10,
            note=(
                "exact two-mass network vs the lumped closed form (package + die 41 J/K, cold plate copper "
                "and trapped coolant 437 J/K); the one-mass 80 J/K die it replaces reached 87 C in 4.5 s"
            ),
            source="first principles: masses from gpus.yaml / cooling.yaml (assumptions stated there)",
        ),
        Check(
            "thermal",
            "air-cooled H100 heat sink time constant",
            tau,
            tau_closed,
            "s",
            "model",
            tolerance=0.10,
            note="no published transient found; a 1.5 kg copper/aluminium heat sink behind 0.052 K/W",
            source="first principles: R_sa x (C_package + C_heat sink), masses in cooling.yaml (assumptions)",
        ),
        Check(
            "power",
            "leakage rise per kelvin (exponential coefficient)",
            th.leakage_per_kelvin,
            float(np.log(2.5) / 40.0),
            "1/K",
            "fitted",
            tolerance=0.01,
            note="taken from the source; no GPU leakage-vs-temperature measurement was found to hold out",
            source="Liao, Li and He, ISLPED 2003: leakage 2.5x between 90 and 130 C",
        ),
        Check(
            "power",
            "server power rise 20->31 C over 20->27 C (fan law)",
            rise[1] / rise[0],
            17.0 / 5.2,
            "x",
            "fitted",
            tolerance=0.15,
            note=(
                "ratio of fan power rises; ramp_start fitted to it. The absolute rises (+5.2%, +17% of a 1U "
                "server's power) also hold CPU leakage and are not compared"
            ),
            source="IBM, ASME InterPACK 2011-52188: rack of 1U servers at 70% load, +5.2% (20->27 C), +17% "
            "(20->31 C) server power",
        ),
    ]
