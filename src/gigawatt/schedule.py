"""Scheduled supply and cooling events as tick windows, and the conditions they impose on a tick.

Conditions are pure functions of the tick: which cooling units lost capacity or flow, how much warmer
their supply is, which racks have the power brake asserted and which dies sit behind a degraded thermal
interface. The engine rebuilds them only on ticks where a window opens or closes, and acts on the
events' one-off effects (a sag outside the ITIC curve resets nodes) itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.scenario import CoolingEvent, Scenario, SupplyEvent


@dataclass
class Conditions:
    """What scheduled events impose on the tick: per cooling unit, and per GPU."""

    capacity: np.ndarray  # fraction of rated cooling capacity
    flow: np.ndarray  # fraction of full coolant flow
    supply_rise: np.ndarray  # K added to the supply setpoint
    brake: np.ndarray  # GPUs with the power brake asserted
    supply_stress: np.ndarray  # per rack, the share of supply lost (a sag's missing voltage; 1: a lost feed)
    interface: np.ndarray  # per-GPU multiplier on the die-to-coolant resistance

    def same_thermal_path(self, other: Conditions) -> bool:
        """True when coolant flow and thermal interfaces are unchanged (the dies' RC factors still hold)."""
        return np.array_equal(self.flow, other.flow) and np.array_equal(self.interface, other.interface)


@dataclass(frozen=True)
class Window:
    event: SupplyEvent | CoolingEvent
    start: int  # first tick it acts on
    end: int  # first tick after it
    where: np.ndarray  # racks (supply events) or cooling units (cooling events) it touches

    def active(self, t: int) -> bool:
        return self.start <= t < self.end


class EventSchedule:
    def __init__(self, sc: Scenario, n_units: int, liquid: bool):
        dt, cl = sc.tick, sc.cluster
        self.n_units, self.n_racks, self.liquid = n_units, cl.racks, liquid
        self.n_gpus, self.gpus_per_rack = cl.gpus, cl.gpus_per_node * cl.nodes_per_rack
        self.pumps = sc.cooling.liquid.cdu if sc.cooling.liquid is not None else None

        def window(e: SupplyEvent | CoolingEvent, where: np.ndarray) -> Window:
            start = int(np.floor(e.at / dt + 1e-9))
            return Window(e, start, max(start + 1, int(np.ceil((e.at + e.duration) / dt - 1e-9))), where)

        def select(sel: list[int] | str, count: int) -> np.ndarray:
            return np.arange(count) if sel == "all" else np.asarray(sel, dtype=int)

        self.supply = [window(e, select(e.racks, cl.racks)) for e in sc.power.supply_events]
        self.cooling = [window(e, select(e.units, n_units)) for e in sc.cooling.events]
        self.change_ticks = {t for w in [*self.supply, *self.cooling] for t in (w.start, w.end)} | {0}

    def conditions(self, t: int) -> Conditions:
        cond = Conditions(
            capacity=np.ones(self.n_units),
            flow=np.ones(self.n_units),
            supply_rise=np.zeros(self.n_units),
            brake=np.zeros(self.n_gpus, dtype=bool),
            supply_stress=np.zeros(self.n_racks),
            interface=np.ones(self.n_gpus),
        )
        brake_racks = np.zeros(self.n_racks, dtype=bool)
        for w in self.supply:
            if not w.active(t):
                continue
            e = w.event
            if e.kind == "feed_loss":
                brake_racks[w.where] = True
            lost = 1.0 if e.kind == "feed_loss" else 1.0 - e.depth
            cond.supply_stress[w.where] = np.maximum(cond.supply_stress[w.where], lost)
        cond.brake = np.repeat(brake_racks, self.gpus_per_rack)
        for w in self.cooling:
            if not w.active(t):
                continue
            e, units = w.event, w.where
            assert isinstance(e, CoolingEvent)
            if e.kind == "thermal_interface_degradation":
                np.multiply.at(cond.interface, e.gpus, e.factor)  # a GPU listed twice degrades twice
            elif e.kind == "capacity_loss":
                cond.capacity[units] *= e.remaining
            elif e.kind == "supply_temperature_rise":
                cond.supply_rise[units] += e.rise
            elif self.liquid and self.pumps is not None:  # pump failure
                working = max(self.pumps.pumps - e.pumps, 0)
                cond.flow[units] = np.minimum(
                    cond.flow[units], min(1.0, working / self.pumps.pumps_for_full_flow)
                )
            else:  # an air zone whose fans stop
                cond.capacity[units] = 0.0
        return cond
