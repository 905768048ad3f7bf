"""Halls: the level between racks and the site, each with its own power budget and heat rejection.

The engine asks, in its order of steps, without knowing whether halls are set:

    cdu_rise, zone_rise = halls.supply_rise()     # K added to CDU and CRAH setpoints (0.0 when unlimited)
    halls.cool(q_cdu, q_zone, dt)                 # the tick's heat into each hall's facility water
    caps = halls.cap(...)                         # site → hall → rack caps (power.hierarchy)
    row.update(halls.flush(ticks))                # per-hall columns of facility.parquet
    halls.stats()                                 # per-hall peaks, capping and cooling headroom

Power budgets live in `gigawatt.power.hierarchy`, heat rejection in `gigawatt.plant.halls`; this class
holds their state and the per-hall integrals the summary reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from gigawatt.plant import halls as hall_cooling
from gigawatt.power import hierarchy
from gigawatt.scenario import Capping, Scenario

# Default thermal mass of a hall's facility water, per rack. Assumption: about 0.2 m³ of water per rack in
# the hall's pipes, headers and buffer tank (a 512-rack hall: ~100 m³), at 4.18 MJ/(m³·K).
WATER_PER_RACK_J_PER_K = 0.8e6


@dataclass
class HallStats:
    """Per hall over the run (arrays of one element per hall), for the summary."""

    racks_per_hall: int
    budget_w: np.ndarray  # inf where unlimited
    heat_rejection_w: np.ndarray  # inf where unlimited
    site_budget_w: float  # inf where unlimited
    power_peak_w: np.ndarray  # IT power at the racks' wall
    power_mean_w: np.ndarray
    over_budget_s: np.ndarray
    capped_s: np.ndarray  # the hall's own cap ceiling below the GPU limit
    site_capped_s: float
    heat_peak_w: np.ndarray  # heat its CDUs and CRAHs removed, into its facility water
    rise_max_k: np.ndarray  # facility water above the plant's supply
    duration_s: float


def _per_hall(n: int, default: float | None, named: list[tuple[list[int], float]]) -> np.ndarray:
    out = np.full(n, np.inf if default is None else default)
    for halls, value in named:
        out[halls] = value
    return out


def active(sc: Scenario) -> bool:
    """Whether the scenario speaks of halls (otherwise its outputs carry no hall columns or section)."""
    co, pw = sc.cooling, sc.power
    return (
        sc.cluster.racks_per_hall is not None
        or pw.hall_budget is not None
        or bool(pw.hall_budgets)
        or co.hall_heat_rejection is not None
        or bool(co.hall_heat_rejections)
    )


class Halls:
    def __init__(self, sc: Scenario, n_cdus: int, n_zones: int, limit: float):
        cl, pw, co = sc.cluster, sc.power, sc.cooling
        self.n = n = cl.halls
        self.racks_per_hall = cl.racks // n
        self.n_cdus, self.n_zones = n_cdus, n_zones
        per_rack = {"gpu": cl.gpus_per_node * cl.nodes_per_rack, "node": cl.nodes_per_rack, "rack": 1}
        self.level = sc.recording.level
        self.rows_per_hall = self.racks_per_hall * per_rack[self.level]  # recorded rows of one hall
        self.limit = limit
        self.active = active(sc)
        self.budget = _per_hall(n, pw.hall_budget, [(h.halls, h.budget) for h in pw.hall_budgets])
        self.capacity = _per_hall(
            n, co.hall_heat_rejection, [(h.halls, h.capacity) for h in co.hall_heat_rejections]
        )
        self.limited_cooling = bool(np.isfinite(self.capacity).any())
        self.site_budget = np.inf if pw.site_budget is None else pw.site_budget
        # Capping runs every tick, repeated ones included: per-hall accounts, or a feed that the cooling
        # (stepped every tick) counts against.
        self.every_tick = self.active or bool(np.isfinite(self.site_budget))
        self.mc = (
            WATER_PER_RACK_J_PER_K * self.racks_per_hall
            if co.hall_water_heat_capacity is None
            else co.hall_water_heat_capacity
        )
        self.caps = hierarchy.initial(cl.racks, n, limit)
        self.rise = np.zeros(n)
        self.rejected_share = 1.0  # of the heat arriving this tick, what the halls' plants rejected
        self.it_prev = 0.0  # last tick's IT power, to tell this tick's facility power from last tick's
        self.dt = sc.tick
        # Integrals: per hall, and per recording interval for facility.parquet.
        self.power_peak = np.zeros(n)
        self.over_ticks = np.zeros(n, dtype=np.int64)
        self.capped_ticks = np.zeros(n, dtype=np.int64)
        self.site_capped_ticks = 0
        self.heat_peak = np.zeros(n)
        self.rise_max = np.zeros(n)
        self.power_acc = np.zeros(n)
        self.power_sum = np.zeros(n)  # over the run (power_acc: over the recording interval)
        self.ticks = 0

    def supply_rise(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """K to add to each CDU's and each air zone's setpoint: their hall's facility water rise."""
        if not self.limited_cooling:
            return 0.0, 0.0
        cdu = hall_cooling.per_unit(self.rise, self.n_cdus) if self.n_cdus else 0.0
        return cdu, hall_cooling.per_unit(self.rise, self.n_zones)

    def cool(self, q_cdu: np.ndarray | None, q_zone: np.ndarray, dt: float) -> None:
        """The heat each hall's CDUs (None: no CDUs) and air zones removed this tick into its water."""
        if not (self.active or self.limited_cooling):
            return
        heat = hall_cooling.heat_by_hall(q_zone, self.n)
        if q_cdu is not None:
            heat = heat + hall_cooling.heat_by_hall(q_cdu, self.n)
        np.maximum(self.heat_peak, heat, out=self.heat_peak)
        if not self.limited_cooling:
            return
        self.rise, rejected = hall_cooling.step(self.rise, heat, self.capacity, self.mc, dt)
        total = float(heat.sum())
        self.rejected_share = float(rejected.sum()) / total if total > 0 else 1.0
        np.maximum(self.rise_max, self.rise, out=self.rise_max)

    def cap(
        self,
        cfg: Capping,
        rack_wall: np.ndarray,
        rack_budget: np.ndarray,
        facility_w: float,
        node_dc: np.ndarray,
        gpu_power: np.ndarray,
        nodes_per_rack: int,
        floor: float,
    ) -> np.ndarray:
        """Each rack's effective per-GPU cap for the next tick (the same array when no level moved).

        `facility_w` is last tick's facility power; the site is judged on this tick's IT power plus last
        tick's overhead (UPS losses and cooling), so that it sees its own cuts at once: on last tick's
        facility power alone it overshoots and rings by several per cent."""
        hall_wall = hierarchy.hall_power(rack_wall, self.n) if self.active else np.zeros(self.n)
        it_w = float(rack_wall.sum())
        site_w = it_w + (facility_w - self.it_prev) if facility_w > 0 else 0.0
        self.it_prev = it_w
        self.caps = hierarchy.step(
            cfg,
            self.caps,
            rack_wall,
            rack_budget,
            hall_wall,
            self.budget,
            site_w,
            self.site_budget,
            node_dc,
            gpu_power,
            nodes_per_rack,
            self.limit,
            floor,
        )
        if self.active:
            np.maximum(self.power_peak, hall_wall, out=self.power_peak)
            self.over_ticks += hall_wall > self.budget
            self.capped_ticks += self.caps.hall < self.limit
            self.power_acc += hall_wall
            self.power_sum += hall_wall
        self.site_capped_ticks += int(self.caps.site[0] < self.limit)
        self.ticks += 1
        return self.caps.effective

    def flush(self, ticks: int) -> dict[str, float]:
        """Per-hall columns of one facility row: mean IT power over the interval and the water's rise."""
        if not self.active:
            return {}
        row = {f"hall{h}_power_kw": float(p) for h, p in enumerate(self.power_acc / max(ticks, 1) / 1e3)}
        if self.limited_cooling:
            row.update({f"hall{h}_water_rise_c": float(r) for h, r in enumerate(self.rise)})
        self.power_acc[:] = 0.0
        return row

    def label(self, timeseries: pa.Table) -> pa.Table:
        """The recording with a `hall` column beside its gpu, node or rack index."""
        if not self.active:
            return timeseries
        index = np.asarray(timeseries.column(self.level).to_numpy())
        return timeseries.append_column("hall", pa.array((index // self.rows_per_hall).astype(np.int32)))

    def stats(self) -> HallStats | None:
        if not self.active:
            return None
        dt = self.dt
        return HallStats(
            self.racks_per_hall,
            self.budget,
            self.capacity,
            self.site_budget,
            self.power_peak,
            self.power_sum / max(self.ticks, 1),
            self.over_ticks * dt,
            self.capped_ticks * dt,
            self.site_capped_ticks * dt,
            self.heat_peak,
            self.rise_max,
            self.ticks * dt,
        )


def summary(st: HallStats) -> dict[str, Any]:
    """The summary's `halls` section: per-hall peak power against its budget, capping and cooling headroom."""
    finite = lambda a: [float(v) / 1e6 if np.isfinite(v) else None for v in a]  # noqa: E731
    of_budget = st.power_peak_w / st.budget_w
    headroom = 1.0 - st.heat_peak_w / st.heat_rejection_w
    binding = [int(h) for h in np.flatnonzero(st.capped_s > 0)]
    short = [int(h) for h in np.flatnonzero(st.rise_max_k > 0.0)]
    return {
        "count": len(st.budget_w),
        "racks_per_hall": st.racks_per_hall,
        "power_budget_mw": finite(st.budget_w),
        "power_peak_mw": (st.power_peak_w / 1e6).tolist(),
        "power_mean_mw": (st.power_mean_w / 1e6).tolist(),
        "peak_of_budget_max": float(of_budget.max()),
        "peak_of_budget_max_hall": int(np.argmax(of_budget)),
        "over_budget_s": st.over_budget_s.tolist(),
        "capped_time_fraction": (st.capped_s / st.duration_s).tolist(),
        "site_capped_time_fraction": st.site_capped_s / st.duration_s,
        "binding_halls": binding,
        "heat_rejection_mw": finite(st.heat_rejection_w),
        "heat_peak_mw": (st.heat_peak_w / 1e6).tolist(),
        "cooling_headroom": [float(v) if np.isfinite(st.heat_rejection_w[h]) else None
                             for h, v in enumerate(headroom)],
        "cooling_headroom_min": float(headroom.min()) if np.isfinite(st.heat_rejection_w).any() else None,
        "water_rise_max_c": st.rise_max_k.tolist(),
        "cooling_short_halls": short,
    }


def chain_causes(h: dict[str, Any]) -> list[str]:
    """The causal chain's hall causes: the hall whose power budget binds hardest, the hall whose heat
    rejection is shortest; where neither binds, the halls' headroom."""
    out = []
    k = h["peak_of_budget_max_hall"]
    if not h["binding_halls"] and h["power_budget_mw"][k] is not None:
        cool = h["cooling_headroom_min"]
        spare = ""
        if cool is not None and not h["cooling_short_halls"]:
            spare = f", heat rejection {cool:.0%} to spare"
        out.append(
            f"{h['count']} halls at most {h['power_peak_mw'][k]:.2f} MW of {h['power_budget_mw'][k]:.2f} MW "
            f"budgets ({h['peak_of_budget_max']:.0%}, hall {k}){spare}"
        )
    if h["binding_halls"]:
        k = max(h["binding_halls"], key=lambda i: h["capped_time_fraction"][i])
        others = len(h["binding_halls"]) - 1
        more = f" (and {others} more hall(s))" if others else ""
        above = f", above it for {h['over_budget_s'][k]:g} s" if h["over_budget_s"][k] else ""
        out.append(
            f"hall {k} at {h['power_mean_mw'][k]:.2f} MW mean (peak {h['power_peak_mw'][k]:.2f}) of its "
            f"{h['power_budget_mw'][k]:.2f} MW budget{above}, "
            f"capped {h['capped_time_fraction'][k]:.0%} of the time{more}"
        )
    if h["cooling_short_halls"]:
        k = max(h["cooling_short_halls"], key=lambda i: h["water_rise_max_c"][i])
        out.append(
            f"hall {k} heat {h['heat_peak_mw'][k]:.2f} MW over its {h['heat_rejection_mw'][k]:.2f} MW heat "
            f"rejection: facility water up to +{h['water_rise_max_c'][k]:.1f} C"
        )
    return out
