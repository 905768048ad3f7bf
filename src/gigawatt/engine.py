"""The loop: events → governor → compute → power → thermal → faults → capping → telemetry, every tick,
for all GPUs at once as NumPy arrays (DESIGN §2). This is the only module that knows the order of the steps.

Hot-path habits (the loop runs 86,400 times for a simulated day): per-GPU quantities that change only
with events (thermal resistance, decay factors, rack caps) are cached until an event changes them;
group reductions use `gigawatt.groups`; the governor inverts its tables in O(1) per GPU; a tick whose
inputs and state repeat the last tick's bit for bit keeps the last tick's per-GPU results
(`gigawatt.fixed_point`), which is most of a steady serving run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from gigawatt import catalog
from gigawatt.allocator import keep_freed_memory
from gigawatt.fixed_point import FixedPoint
from gigawatt.governor import (
    HW_POWER_BRAKE_SLOWDOWN,
    HW_SLOWDOWN,
    HW_THERMAL_SLOWDOWN,
    REASON_NAMES,
    SW_POWER_CAP,
    SW_THERMAL_SLOWDOWN,
    highest_bin_within,
)
from gigawatt.groups import group_sum
from gigawatt.halls import Halls, HallStats
from gigawatt.plant.plant import build_plant
from gigawatt.power.cap_floor import cap_excess_w
from gigawatt.power.conversion import conversion_curve
from gigawatt.power.dvfs import half_clock_index, voltage
from gigawatt.power.fans import ServerFans, server_fans
from gigawatt.power.host import HostModel, node_host
from gigawatt.power.leakage import Leakage
from gigawatt.power.supply import rides_through
from gigawatt.reliability.outages import Outages
from gigawatt.scenario import Scenario
from gigawatt.schedule import EventSchedule
from gigawatt.telemetry import CAUSE_XID, EventLog, Recorder, Snapshot
from gigawatt.thermal import cooling_unit, stack
from gigawatt.thermal.cold_plate import cold_plate, liquid_path
from gigawatt.units import parse_quantity
from gigawatt.workload.base import TickWork, Workload
from gigawatt.workload.registry import build_workload

THROTTLE_BITS = (SW_POWER_CAP, SW_THERMAL_SLOWDOWN, HW_THERMAL_SLOWDOWN, HW_POWER_BRAKE_SLOWDOWN)


@dataclass
class Totals:
    """Run-wide integrals (float64 scalars)."""

    it_energy_j: float = 0.0  # into the IT equipment (node PSUs, or the HVDC bus)
    facility_energy_j: float = 0.0
    gpu_energy_j: float = 0.0
    heat_to_liquid_j: float = 0.0  # removed by CDUs
    heat_to_air_j: float = 0.0  # removed by CRAHs
    cooling_energy_j: float = 0.0
    output_tokens: float = 0.0
    demanded_tokens: float = 0.0
    gpu_ticks: int = 0
    power_capped_gpu_ticks: int = 0
    thermal_gpu_ticks: int = 0
    brake_gpu_ticks: int = 0
    down_gpu_ticks: int = 0
    gpu_power_max_w: float = 0.0
    facility_power_max_w: float = 0.0
    gpu_temp_max_c: float = -np.inf
    budget_exceeded_rack_s: float = 0.0
    cap_unmet_gpu_ticks: int = 0  # GPUs above their power cap at their lowest clock (power.cap_floor)
    cap_excess_energy_j: float = 0.0  # ∫ (power − cap) over those GPU-ticks
    cap_excess_max_w: float = 0.0


@dataclass
class RunResult:
    scenario: Scenario
    workload: Workload  # the workload as it ended: its own metrics, tables and report sections
    totals: Totals
    stored_heat_j: float
    timeseries: pa.Table
    facility: pa.Table
    events: EventLog
    facility_power_w: np.ndarray  # every tick, for swings and ramps a recording interval would smooth away
    halls: HallStats | None = None  # per-hall peaks, capping and cooling (None: the scenario has no halls)


class Engine:
    def __init__(self, sc: Scenario):
        self.sc = sc
        cl, pw, co = sc.cluster, sc.power, sc.cooling
        self.gpu = gpu = catalog.gpu(cl.gpu)
        self.dt = sc.tick
        self.n = cl.gpus
        self.gpn = cl.gpus_per_node
        self.npr = cl.nodes_per_rack
        self.n_nodes, self.n_racks = cl.nodes, cl.racks
        self.gpr = cl.gpus_per_node * cl.nodes_per_rack
        self.workload = wl = build_workload(sc, gpu)
        self.outages = (
            Outages(sc.reliability, self.n, self.gpn, sc.seed) if sc.reliability is not None else None
        )

        # Power: limits, conversion chain, governor look-ups.
        self.limit = gpu.tdp if pw.gpu_power_limit is None else pw.gpu_power_limit
        if not gpu.power_limit_min <= self.limit <= gpu.tdp:
            raise ValueError(
                f"power.gpu_power_limit: {self.limit:g} W is outside the {gpu.name}'s settable range "
                f"{gpu.power_limit_min:g}-{gpu.tdp:g} W"
            )
        self.psu = conversion_curve(pw.psu.curve)
        chain = catalog.cooling_catalog()["power_conversion"]
        self.ups = conversion_curve("ups-double-conversion") if chain[pw.psu.curve]["kind"] == "psu" else None
        self.budget = np.full(self.n_racks, np.inf if pw.rack_budget is None else pw.rack_budget)
        self.top = len(wl.clocks) - 1
        self.half = half_clock_index(wl.clocks)

        # Cooling: liquid CDUs (if any) and air zones, each a vector of units.
        cool = catalog.cooling_catalog()
        self.n_zones = self.n_racks // co.air.racks_per_zone
        self.liquid = co.kind == "liquid"
        if co.liquid is not None and self.liquid:
            lq = co.liquid
            self.n_cdus = self.n_racks // lq.racks_per_cdu
            self.plate = cold_plate(lq.cold_plate)
            fluid = cool["fluids"][cool["cold_plates"][lq.cold_plate]["fluid"]]
            self.cp = parse_quantity(fluid["specific_heat"]["value"], "heat_capacity")  # J/(kg·K)
            self.kg_per_l = float(fluid["density_kg_per_l"]["value"])
            self.host_to_air = lq.heat_to_air
            gpus_per_cdu = self.gpr * lq.racks_per_cdu
            need = gpus_per_cdu * lq.cold_plate_flow * self.kg_per_l / 60.0
            if need > lq.cdu.flow * 1.0001:
                raise ValueError(
                    f"cooling.liquid: {gpus_per_cdu} GPUs × {lq.cold_plate_flow:g} L/min of cold-plate flow "
                    f"need "
                    f"{need:.1f} kg/s, more than the CDU's flow of {lq.cdu.flow:g} kg/s"
                )
        else:
            self.n_cdus = 0
            self.host_to_air = 1.0
        self._thermal_stack()
        self.n_units = self.n_cdus if self.liquid else self.n_zones
        self.schedule = EventSchedule(sc, self.n_units, self.liquid)
        self.events = EventLog()
        self._ran = False

    # ------------------------------------------------------------------ setup

    def _thermal_stack(self) -> None:
        """The GPU's stack (DESIGN §4.3): package + die, then the cold plate with its trapped coolant or the
        heat sink; leakage rising with the die's temperature; server fans where the nodes are air-cooled."""
        th = self.thermal = stack.gpu_thermal(self.gpu.name)
        self.leakage = leak = Leakage(
            th.leakage_power, th.leakage_reference_temp, th.leakage_per_kelvin, th.leakage_voltage_exponent
        )
        # Static power per clock bin at the reference temperature, at the bin's core voltage.
        scale = leak.voltage_scale(voltage(self.gpu, self.workload.clocks) / self.gpu.voltage_max)
        self.leak_w = leak.static_w * scale
        self.case_c = th.junction_heat_capacity + th.package_heat_capacity
        lq, air = self.sc.cooling.liquid, self.sc.cooling.air
        self.fans: ServerFans | None = None
        if self.liquid and lq is not None:
            self.sink_c = stack.cold_plate_heat_capacity(lq.cold_plate, self.cp)
        else:
            sink = stack.heat_sink(th.air_heat_sink)
            self.sink_c = sink.heat_capacity
            path = stack.air_path(air.heat_sink_resistance, th.junction_to_case, sink)
            self.sink_r, self.sink_to_air = path
            if self.sink_to_air <= 0:
                raise ValueError(
                    f"cooling.air.heat_sink_resistance: {air.heat_sink_resistance:g} K/W is no more than the "
                    f"{self.gpu.name}'s junction-to-case ({th.junction_to_case:g} K/W) plus its heat sink's "
                    f"base ({sink.base_resistance:g} K/W); give the whole junction-to-inlet-air resistance"
                )
            self.fans = server_fans(th.server_fans)

    def _reset_state(self) -> None:
        sc, gpu, n = self.sc, self.gpu, self.n
        co, var = sc.cooling, sc.cluster.variation
        # Part-to-part spread, drawn once from the seed, bounded to ±3 sigma.
        rng = np.random.default_rng(sc.seed)
        self.power_var = 1.0 + np.clip(rng.standard_normal(n), -3, 3) * var.power
        self.inv_power_var = 1.0 / self.power_var
        self.inv_power_var_min = float(self.inv_power_var.min())
        self.power_var_range = float(self.power_var.min()), float(self.power_var.max())
        self.res_var = 1.0 + np.clip(rng.standard_normal(n), -3, 3) * var.thermal_resistance

        # The plant sets facility water and supply air each tick (fixed without a site, DESIGN §4.8).
        self.plant = build_plant(sc, np.arange(sc.ticks) * self.dt)
        water, air = self.plant.supply(0)
        self.air_supply = self.air_supply0 = np.full(self.n_zones, air)
        self.zone_mc = np.full(self.n_zones, co.air.zone_heat_capacity)
        if self.liquid and co.liquid is not None:
            self.cdu_supply = self.cdu_supply0 = np.full(self.n_cdus, water + co.liquid.cdu.approach)
            self.cdu_mc = np.full(self.n_cdus, co.liquid.cdu.loop_heat_capacity)
            start_temp = float(self.cdu_supply[0])
        else:
            start_temp = air
        # Every node of the stack starts at the coolant's temperature; temp is the junction's.
        self.temp0 = start_temp
        self.temp = np.full(n, start_temp)
        self.temp_max = start_temp  # the hottest die, kept with `temp`
        self.case_t, self.sink_t, self.hbm_t = self.temp.copy(), self.temp.copy(), self.temp.copy()
        self.rack_t = group_sum(self.case_t, self.gpr), group_sum(self.sink_t, self.gpr)
        self.memory = np.zeros(n)  # memory's part of each GPU's power last tick
        self.k_last: np.ndarray | int = len(self.workload.clocks) - 1  # last tick's clock bins
        self.fan_w = np.zeros(self.n_nodes)
        self.power = np.full(n, gpu.idle_power)
        self.power_range, self.memory_range = (gpu.idle_power, gpu.idle_power), (0.0, 0.0)
        self.flags = np.zeros(n, dtype=np.int64)
        self.no_flags = np.zeros(n, dtype=np.int64)
        self.prev_flags = self.no_flags  # last tick's reasons, for throttle start/stop events
        self.cap_unmet: np.ndarray | None = None  # at the lowest clock and still over the power cap
        self.prev_unmet: np.ndarray | None = None  # last tick's unmet GPUs, None when there were none
        self.up_at = np.zeros(n)  # when a down GPU comes back; 0 = up
        self.all_up = True
        self.halls = Halls(sc, self.n_cdus if self.liquid else 0, self.n_zones, self.limit)
        self.rack_cap = self.halls.caps.effective  # per rack: the lowest of its rack, hall and site caps
        self.power_cap = np.full(n, self.limit)
        self.overload_s = np.zeros(self.n_racks)
        self.host_model = node_host(sc.power.host_power_per_node, self.gpn)
        if self.fans is not None:
            if isinstance(self.host_model, HostModel):  # inlet-driven fans replace the model's constant fans
                self.host_model = replace(self.host_model, fans_w=0.0)
            else:  # a constant host figure is the whole host, fans included
                self.fans = None
        self.node_powered = np.ones(self.n_nodes)  # 1 where a node is powered (its host and fans draw)
        self.host_now = np.full(self.n_nodes, self.host_model.full_w)
        self.node_up_at = np.zeros(self.n_nodes)  # when an unpowered node is back; 0 = powered
        self.totals = Totals()
        self.fixed = FixedPoint()
        self.capping_quiet = False  # last tick's capping moved no cap and found no rack over budget
        self.events = EventLog()
        self.now = 0.0
        self.cond = self.schedule.conditions(0)
        self.any_brake = bool(self.cond.brake.any())

    def _thermal_path(self) -> None:
        """Per-GPU resistances of the stack and its exact one-tick factors; recomputed only when coolant
        flow or a thermal interface changes.

        Liquid: `cold_plate.liquid_path` at each plate's flow; air: `stack.air_path`, formed once in setup.
        The part-to-part spread and a degraded interface act on junction-to-case (die + TIM).
        """
        sc = self.sc
        lq = sc.cooling.liquid
        junction = self.thermal.junction_to_case * self.res_var * self.cond.interface
        if self.liquid and lq is not None:
            flow_l = lq.cold_plate_flow * np.repeat(self.cond.flow, self.gpr * lq.racks_per_cdu)
            to_sink, to_coolant = liquid_path(self.plate, flow_l, self.kg_per_l, self.cp)
        else:
            to_sink, to_coolant = self.sink_r, self.sink_to_air
        self.net = stack.network(
            self.dt, self.case_c, self.sink_c, to_sink, to_coolant, junction, self.thermal.hbm_to_case
        )
        self.junction_max = float(self.net.junction.max())

    # ------------------------------------------------------------------ run

    def run(
        self,
        progress: Callable[[int, int], None] | None = None,
        observe: Callable[[Snapshot], None] | None = None,
    ) -> RunResult:
        """Simulate the scenario, once: an engine holds its replicas' request state. `progress` hears of
        every tick; `observe` gets each recording interval's rows as they are recorded (live metrics)."""
        if self._ran:
            raise RuntimeError("an Engine runs its scenario once; build a new Engine to run it again")
        self._ran = True
        sc = self.sc
        keep_freed_memory()
        self._reset_state()
        self._thermal_path()
        group = {"gpu": 1, "node": self.gpn, "rack": self.gpr}[sc.recording.level]
        self.rec = Recorder(
            self.n, group, sc.recording.level, self.gpu.name, self.gpn, name=sc.name, start=sc.start,
            memory_clock_mhz=self.gpu.memory_clock, fb_total_bytes=self.gpu.hbm_capacity,
            fb_used_bytes=self.workload.memory_used_bytes(), tick_s=self.dt,
        )
        self.fac_rows: list[dict[str, float]] = []
        self.observe = observe
        self.fac_acc = np.zeros(7)
        self.facility_w = np.zeros(sc.ticks)
        rec_every = max(1, round(sc.recording.interval / self.dt))
        ticks = sc.ticks
        for t in range(ticks):
            self._step(t)
            if (t + 1) % rec_every == 0 or t + 1 == ticks:
                self._flush(t, (t % rec_every) + 1)
            if progress is not None:
                progress(t + 1, ticks)
        return RunResult(
            sc,
            self.workload,
            self.totals,
            self._stored_heat(),
            self.halls.label(self.rec.table()),
            pa.table({key: [r.get(key, np.nan) for r in self.fac_rows] for key in self.fac_rows[0]}),
            self.events,
            self.facility_w,
            self.halls.stats(),
        )

    def _step(self, t: int) -> None:
        self.tick = t
        now = self.now = t * self.dt
        if t in self.schedule.change_ticks:
            self._apply_events(t, now)
        self._recover(now)
        up = None if self.all_up else self.up_at == 0.0
        self.workload.start_tick(t, now, up, self.outages.rate_s if self.outages is not None else 0.0)
        k = self.k_last = self._govern()
        work = self.workload.step(t, now, self.dt, k, up)
        self._power_and_heat(work)
        self._cap_floor(now)
        self._faults(now)
        self._failures(now)
        self._capping(now)
        self._throttle_events(now)
        self._account(k, work)

    # ------------------------------------------------------------------ steps

    def _apply_events(self, t: int, now: float) -> None:
        """Log events opening or closing this tick, act on sags, and take the tick's new conditions."""
        ev, last = self.events, self.sc.ticks
        for w in self.schedule.supply:
            e, racks = w.event, w.where
            if t == w.end and w.end < last:
                ev.add(now, f"{e.kind}_end", "rack", int(racks[0]))
            if t != w.start:
                continue
            if e.kind == "feed_loss":
                ev.add(now, "feed_loss", "rack", int(racks[0]), f"{len(racks)} rack(s): power brake")
            elif rides_through(e.depth, e.duration):
                ev.add(now, "sag_ride_through", "rack", int(racks[0]), f"{e.depth:.0%} for {e.duration:g} s")
            else:
                nodes = (racks[:, None] * self.npr + np.arange(self.npr)).ravel()
                self._reset_nodes(
                    nodes,
                    now,
                    f"sag to {e.depth:.0%} for {e.duration:g} s, outside ITIC",
                    power_back=e.at + e.duration,
                )
        scope = "cdu" if self.liquid else "zone"
        for w in self.schedule.cooling:
            e = w.event
            where = ("gpu", e.gpus[0]) if e.gpus else (scope, int(w.where[0]))
            if t == w.end and w.end < last:
                ev.add(now, f"{e.kind}_end", *where)
            if t == w.start:
                what = f"{len(e.gpus)} GPU(s)" if e.gpus else f"{len(w.where)} unit(s)"
                ev.add(now, e.kind, *where, f"{what} until {w.end * self.dt:g} s")
        new = self.schedule.conditions(t)
        rebuild = t == 0 or not new.same_thermal_path(self.cond)
        self.cond = new
        self.any_brake = bool(new.brake.any())
        if rebuild:
            self._thermal_path()

    def _recover(self, now: float) -> None:
        if self.all_up:
            return
        if self.node_up_at.any():
            self.node_up_at[(self.node_up_at > 0) & (self.node_up_at <= now + 1e-9)] = 0.0
            self.node_powered = (self.node_up_at == 0.0).astype(float)
        back = (self.up_at > 0) & (self.up_at <= now + 1e-9)
        if back.any():
            idx = np.flatnonzero(back)
            self.up_at[idx] = 0.0
            self.events.add_many(now, "recovered", "gpu", idx)
            self.all_up = not self.up_at.any()

    def _coolant(self) -> np.ndarray:
        """Loop supply (or inlet air) temperature at each die."""
        if self.liquid:
            return np.repeat(self.cdu_supply, self.n // self.n_cdus)
        return np.repeat(self.air_supply, self.n // self.n_zones)

    def _govern(self) -> np.ndarray | int:
        """Clock bin per GPU (a scalar when all run at the top bin) and reason flags (DESIGN §2 step 2)."""
        gpu = self.gpu
        # The governor's inputs; when they and the state repeat the last tick, so do its results (all kept).
        inputs = (self.k_last, self.all_up, self.cdu_supply if self.liquid else None, self.air_supply,
                  self.rack_cap, self.cond, self.net, self.workload.duty)
        if self.fixed.repeats(inputs):
            return self.k_last
        self.coolant = coolant = self._coolant()
        net = self.net
        self.free_case, self.free_sink = net.free(self.case_t, self.sink_t, coolant)
        # The power that holds the junction at its max operating temperature, or the HBM at its own (NVML's
        # SwThermalSlowdown covers both), by the end of the tick; memory's share taken from the last tick.
        # Where kernels run for a share of the tick (duty), the package follows the tick's mean power and
        # the junction the kernels' draw, which is what the limiter caps.
        duty = None if self.workload.duty is None else (self.workload.duty, gpu.idle_power)
        # The die's static power above its reference value, at last tick's voltage; a junction held at its
        # limit leaks what the limit sets, so the thermal budget is net of that (not of the leakage now,
        # which a die heating through a degraded interface would underestimate by tens of watts).
        static_w = self.leak_w[self.k_last]
        self.leak = self.leakage.extra_w(self.temp, static_w)
        leak_hot = self.leakage.extra_w(gpu.temp_max_operating, static_w)
        brake = self.cond.brake
        any_hw, any_brake = self.temp_max >= gpu.temp_slowdown, self.any_brake
        hw_thermal = self.temp >= gpu.temp_slowdown if any_hw else None
        wl = self.workload
        cap_max = min(self.limit, float(self.rack_cap.max()))  # = power_cap.max(), from the racks
        floor = self._thermal_floor(duty)
        hot_margin = float(np.max(leak_hot)) - float(self.leak.min())
        if floor - hot_margin >= cap_max * (1.0 + 1e-9) and not (any_hw or any_brake):
            # No GPU is thermally bound: the per-GPU thermal limits are not needed this tick, and when even
            # the tightest GPU's budget covers the top clock's busy power, every GPU runs the top clock.
            cap_min = min(self.limit, float(self.rack_cap.min()))
            bound = (cap_min - float(self.leak.max())) * self.inv_power_var_min
            if bound >= wl.saturated.table[-1]:
                self.thermal_bound = self.power_bound = self.hw_thermal = self.cap_unmet = None
                self.flags = self.no_flags
                return self.top
            thermal_cap = np.inf
        else:
            share = self.memory / np.maximum(self.power, 1e-9)  # a down GPU draws nothing: share 0
            thermal_cap = np.minimum(
                net.hold(gpu.temp_max_operating, self.free_case, net.junction, 1.0 - share, duty),
                net.hold(gpu.temp_memory_max, self.free_case, net.hbm, share, duty),
            )
        # Leakage is drawn first; with no thermal limit (the bound above cleared) the power cap alone binds.
        power_budget = self.power_cap - self.leak
        thermal = np.ndim(thermal_cap) > 0
        budget = np.minimum(power_budget, thermal_cap - leak_hot) if thermal else power_budget
        per_gpu_budget = budget * self.inv_power_var
        k = highest_bin_within(per_gpu_budget, wl.light_query(per_gpu_budget), wl.saturated, wl.light)
        self.thermal_bound = self.power_bound = self.hw_thermal = self.cap_unmet = None
        self.flags = self.no_flags
        if isinstance(k, int) and not (any_hw or any_brake):
            return k
        below_floor = None
        if isinstance(k, int):
            k = np.full(self.n, k)
        elif k.min() < 0:
            below_floor = k < 0
            k = np.maximum(k, 0)
        limited = k < self.top
        thermal_bound = limited & (thermal_cap - leak_hot < power_budget) if thermal else None
        power_bound = limited & ~thermal_bound if thermal_bound is not None else limited
        if below_floor is not None:
            # No clock fits the cap: the GPU holds its lowest clock and draws more (power.cap_floor).
            self.cap_unmet = below_floor & power_bound
        slowed = hw_thermal | brake if hw_thermal is not None else brake
        if any_hw or any_brake:
            k = np.where(slowed, self.half[k], k)
        flags = power_bound * SW_POWER_CAP  # the reasons that hold, added bit by bit
        if thermal_bound is not None:
            flags += thermal_bound * SW_THERMAL_SLOWDOWN
        if hw_thermal is not None:
            flags += hw_thermal * (HW_THERMAL_SLOWDOWN | HW_SLOWDOWN)
        if any_brake:
            flags += brake * (HW_POWER_BRAKE_SLOWDOWN | HW_SLOWDOWN)
        if not self.all_up:
            flags *= self.up_at == 0.0
        self.flags = flags
        self.thermal_bound, self.power_bound, self.hw_thermal = thermal_bound, power_bound, hw_thermal
        return k

    def _thermal_floor(self, duty: tuple[np.ndarray, float] | None) -> float:
        """A lower bound, over every GPU, on the power that holds its junction and HBM at their limits;
        memory's share of the power bounded from the extremes of both, without forming it per GPU."""
        gpu, net = self.gpu, self.net
        (m_min, m_max), (p_min, p_max) = self.memory_range, self.power_range
        s_min = m_min / max(p_max, 1e-9)
        s_max = m_max / max(p_min, 1e-9)
        hot = float(self.free_case.max())
        d = None if duty is None else ((float(np.min(duty[0])), float(np.max(duty[0]))), duty[1])
        return min(
            net.hold_floor(gpu.temp_max_operating, hot, self.junction_max, (1.0 - s_max, 1.0 - s_min), d),
            net.hold_floor(gpu.temp_memory_max, hot, net.hbm, (s_min, s_max), d),
        )

    def _power_and_heat(self, work: TickWork) -> None:
        """Watts per GPU, node and rack, then the heat they become (DESIGN §2 steps 4-5)."""
        dt = self.dt
        # A repeat of the last tick (gigawatt.fixed_point) keeps every GPU's, node's and rack's results and
        # the heat each coolant unit takes in; only the units themselves step.
        self.repeat = self.fixed.same_work(work)
        if not self.repeat:
            self._gpu_power(work)
            self.heat_in = self._heat_in(work)
        q_in, air_in = self.heat_in
        co = self.sc.cooling
        cond = self.cond
        water, air = self.plant.supply(self.tick)
        cdu_rise, zone_rise = self.halls.supply_rise()  # a hall short of heat rejection warms its water
        if self.liquid and co.liquid is not None:
            lq = co.liquid
            self.cdu_supply, self.q_liquid = cooling_unit.step(
                self.cdu_supply,
                q_in,
                lq.cdu.capacity * cond.capacity * cond.flow,
                water + lq.cdu.approach + cond.supply_rise + cdu_rise,
                self.cdu_mc,
                dt,
            )
            air_cap, air_set = co.air.crah_capacity, air + zone_rise
        else:
            self.q_liquid = np.zeros(1)
            air_cap, air_set = co.air.crah_capacity * cond.capacity, air + cond.supply_rise + zone_rise
        self.air_supply, self.q_air = cooling_unit.step(
            self.air_supply, air_in, air_cap, air_set, self.zone_mc, dt
        )
        self.halls.cool(self.q_liquid if self.liquid else None, self.q_air, dt)

    def _heat_in(self, work: TickWork) -> tuple[np.ndarray | None, np.ndarray]:
        """Node and rack power, the stack over the tick, and the heat into each CDU (None when air-cooled)
        and each air zone."""
        dt = self.dt
        node_gpu, power, memory = self.node_gpu, self.power, self.memory
        # Host power follows the node's GPU busy share and time in collectives (power.host).
        host_w = self.host_model.node_power(work.busy, work.comm, self.gpn, self.n_nodes)
        self.host_now = host_w * self.node_powered
        host = self.host_now
        if self.fans is not None:  # air-cooled nodes: fan power follows the zone's inlet air
            self.fan_w = np.repeat(self.fans.power(self.air_supply, self.gpn), self.n_nodes // self.n_zones)
            if self.node_up_at.any():
                self.fan_w = self.fan_w * self.node_powered
            host = host + self.fan_w
        node_dc = node_gpu + host
        node_wall = node_dc / self.psu(node_dc / self.sc.power.psu.rated_per_node)
        self.node_dc, self.node_wall = node_dc, node_wall
        self.rack_wall = group_sum(node_wall, self.npr)

        # The stack over the tick; heat to the coolant per rack from its energy balance, P·dt − ΣC·ΔT.
        net = self.net
        case, sink = net.forced(self.free_case, self.free_sink, power)
        rack_t = group_sum(case, self.gpr), group_sum(sink, self.gpr)  # ΣT per rack (capacities are uniform)
        took = net.stored(rack_t[0] - self.rack_t[0], rack_t[1] - self.rack_t[1])
        rack_gpu_heat = group_sum(node_gpu, self.npr) - took / dt
        before = (*self.rack_t, self.case_t, self.sink_t, self.temp, *self.last_power)
        self.case_t, self.sink_t, self.rack_t = case, sink, rack_t
        self.temp = case + net.junction * (power - memory)
        self.temp_max = float(self.temp.max())
        self.hbm_t = case + net.hbm * memory
        # Held when the governor ran its scalar path (its result depends on the inputs alone) with every GPU
        # up, and the tick left the state as it found it (then `took` was nothing, as in a repeat).
        eligible = isinstance(self.k_last, int) and self.all_up
        after = (*rack_t, case, sink, self.temp, power, memory)
        self.fixed.settle(eligible, zip(before, after, strict=True))
        rack_host = group_sum(host, self.npr)
        rack_loss = group_sum(node_wall - node_dc, self.npr)
        co = self.sc.cooling
        if self.liquid and co.liquid is not None:
            to_liquid = rack_gpu_heat + rack_host * (1.0 - self.host_to_air)
            q_in = group_sum(to_liquid, co.liquid.racks_per_cdu)
            return q_in, group_sum(rack_host * self.host_to_air + rack_loss, co.air.racks_per_zone)
        return None, group_sum(rack_gpu_heat + rack_host + rack_loss, co.air.racks_per_zone)

    def _gpu_power(self, work: TickWork) -> None:
        """Watts per GPU (memory's part apart), their extremes, and per node."""
        power = (self.gpu.idle_power + work.dynamic_w) * self.power_var + self.leak
        memory = work.memory_w * self.power_var
        if not self.all_up:
            up = self.up_at == 0.0
            power *= up
            memory = memory * up
        self.last_power = self.power, self.memory  # for the fixed-point check (the governor reads both)
        self.power, self.memory = power, memory
        # Extremes for the governor's thermal bound next tick and the run's peak; memory's from the spread
        # where one share holds for every GPU (a product with a non-negative number keeps the order).
        self.power_range = float(power.min()), float(power.max())
        m = work.memory_w
        if np.ndim(m) == 0 and self.all_up and m >= 0:
            self.memory_range = float(m * self.power_var_range[0]), float(m * self.power_var_range[1])
        else:
            self.memory_range = float(memory.min()), float(memory.max())
        self.node_gpu = group_sum(power, self.gpn)

    def _cap_floor(self, now: float) -> None:
        """GPUs whose cap lies below what their lowest clock draws: counted, timed and logged as unmet."""
        unmet, prev = self.cap_unmet, self.prev_unmet
        if unmet is None and prev is None:
            return
        prev = np.zeros(self.n, dtype=bool) if prev is None else prev
        unmet = np.zeros(self.n, dtype=bool) if unmet is None else unmet
        if not self.all_up:
            unmet = unmet & (self.up_at == 0.0)
        excess = cap_excess_w(self.power, self.power_cap, unmet)
        tot = self.totals
        tot.cap_unmet_gpu_ticks += int(np.count_nonzero(unmet))
        tot.cap_excess_energy_j += float(excess.sum()) * self.dt
        tot.cap_excess_max_w = max(tot.cap_excess_max_w, float(excess.max()))
        on, off = np.flatnonzero(unmet & ~prev), np.flatnonzero(prev & ~unmet)
        if len(on):
            self.events.add_many(now, "power_cap_unmet", "gpu", on, "below the lowest clock's power")
        if len(off):
            self.events.add_many(now, "power_cap_unmet_end", "gpu", off)
        self.prev_unmet = unmet if unmet.any() else None

    def _faults(self, now: float) -> None:
        """A die at its shutdown temperature drops off the bus; its replica loses the work in flight."""
        if self.temp_max < self.gpu.temp_shutdown:
            return
        hot = (self.temp >= self.gpu.temp_shutdown) & (self.up_at == 0.0)
        if not hot.any():
            return
        idx = np.flatnonzero(hot)
        self.up_at[idx] = now + self.dt + self.sc.recovery.gpu_shutdown
        self.all_up = False
        self._lose_work(idx, "thermal_shutdown")
        self.events.add_many(
            now + self.dt, "thermal_shutdown", "gpu", idx, f"die at {self.gpu.temp_shutdown:g} C"
        )

    def _lose_work(self, gpus: np.ndarray, cause: str) -> None:
        """These GPUs dropped out: an XID-class error, and their workload loses what was in flight."""
        self.rec.error(gpus, CAUSE_XID.get(cause))
        self.workload.lose_work(gpus, self.now, cause)

    def _failures(self, now: float) -> None:
        """Component failures, their hazard driven by the dies' temperatures and the supply (DESIGN §2
        step 6): the GPUs they take out go down for their outage, and the workload loses its work."""
        if self.outages is None:
            return
        for o in self.outages.step(now, self.dt, self.temp, self._supply_stress()):
            f = o.failure
            where = ("gpu", int(o.gpus[0])) if len(o.gpus) == 1 else ("node", max(f.node, 0))
            self.events.add(f.time_s, "silent_corruption" if f.silent else "failure", *where, f.detail)
            if f.silent:
                self.workload.silent_corruption(int(f.index), now, self.outages.process.sdc_latency)
                continue
            if o.down_s > 0 and len(o.gpus):
                self.up_at[o.gpus] = np.maximum(self.up_at[o.gpus], f.time_s + o.down_s)
                self.all_up = False
            if len(o.gpus):
                self.rec.error(o.gpus, f.xid)
            self.workload.lose_work(o.gpus, now, f.component, o.held_s)

    def _supply_stress(self) -> np.ndarray | None:
        """Per node, the share of supply lost this tick (for the failure hazard)."""
        stress = self.cond.supply_stress
        return np.repeat(stress, self.npr) if stress.any() else None

    def _reset_nodes(self, nodes: np.ndarray, now: float, why: str, power_back: float | None = None) -> None:
        """Nodes lose power: hosts and GPUs draw nothing and drop their work; once power is back
        (`power_back`, default now) they take the node-reset recovery time to return."""
        back = max(now, power_back if power_back is not None else now) + self.sc.recovery.node_reset
        self.node_up_at[nodes] = np.maximum(self.node_up_at[nodes], back)
        self.node_powered = (self.node_up_at == 0.0).astype(float)
        gpus = (nodes[:, None] * self.gpn + np.arange(self.gpn)).ravel()
        live = gpus[self.up_at[gpus] == 0.0]
        self.up_at[gpus] = np.maximum(self.up_at[gpus], back)
        self.all_up = False
        if len(live):
            self._lose_work(live, "node_reset")
        self.events.add_many(now, "node_reset", "node", nodes, why)

    def _capping(self, now: float) -> None:
        """Site, hall and rack power capping (power.hierarchy), and rack breakers."""
        # The same racks at the same caps: nothing moves, unless halls keep per-tick accounts or the site's
        # cooling, which a repeated tick still steps, counts against a feed.
        if self.repeat and self.capping_quiet and not self.halls.every_tick:
            return
        self.capping_quiet = False
        cpg, budget, rack_wall = self.sc.power.capping, self.budget, self.rack_wall
        facility_w = float(self.facility_w[self.tick - 1]) if self.tick else 0.0
        caps = self.halls.cap(
            cpg, rack_wall, budget, facility_w, self.node_dc, self.power, self.npr, self.gpu.power_limit_min
        )
        moved = caps is not self.rack_cap
        if moved:
            self.rack_cap = caps
            self.power_cap = np.minimum(self.limit, np.repeat(caps, self.gpr))
        exceeded = rack_wall > budget
        if not exceeded.any() and not self.overload_s.any():
            self.capping_quiet = not moved
            return
        self.totals.budget_exceeded_rack_s += float(exceeded.sum()) * self.dt
        # Capping cannot help a rack whose caps are at their minimum: only then does its breaker time out.
        stuck = exceeded & (self.rack_cap <= self.gpu.power_limit_min * (1 + 1e-9))
        self.overload_s = np.where(stuck, self.overload_s + self.dt, 0.0)
        tripped = self.overload_s >= cpg.trip_after
        if tripped.any():
            racks = np.flatnonzero(tripped)
            self.overload_s[racks] = 0.0
            nodes = (racks[:, None] * self.npr + np.arange(self.npr)).ravel()
            self._reset_nodes(nodes, now + self.dt, "rack breaker tripped: above its budget at minimum caps")

    def _throttle_events(self, now: float) -> None:
        prev, self.prev_flags = self.prev_flags, self.flags
        if prev is self.flags:
            return
        changed = self.flags != prev
        if not changed.any():
            return
        for bit in THROTTLE_BITS:
            was, now_on = (prev & bit) != 0, (self.flags & bit) != 0
            on, off = np.flatnonzero(now_on & ~was), np.flatnonzero(was & ~now_on)
            if len(on):
                self.events.add_many(now, "throttle_start", "gpu", on, REASON_NAMES[bit])
            if len(off):
                self.events.add_many(now, "throttle_stop", "gpu", off, REASON_NAMES[bit])

    def _account(self, k: np.ndarray | int, work: TickWork) -> None:
        tot, dt, n = self.totals, self.dt, self.n
        if not self.repeat:  # a repeated tick draws what the last one drew
            it_w = float(self.rack_wall.sum())
            rated = self.sc.power.psu.rated_per_node * self.n_nodes
            ups_eff = float(self.ups(np.array([it_w / rated]))[0]) if self.ups is not None else 1.0
            self.drawn = it_w, ups_eff, float(self.node_gpu.sum()), float(self.rack_wall.max())
        it_w, ups_eff, gpu_w, rack_max = self.drawn
        q_liquid, q_air = float(self.q_liquid.sum()), float(self.q_air.sum())
        share = self.halls.rejected_share  # heat a hall's plant could not reject waits in its water
        cooling_w = self.plant.power(self.tick, q_liquid * share, q_air * share)
        facility_w = it_w / ups_eff + cooling_w
        out = float(work.served.sum())
        tot.it_energy_j += it_w * dt
        tot.facility_energy_j += facility_w * dt
        tot.gpu_energy_j += gpu_w * dt
        tot.heat_to_liquid_j += q_liquid * dt
        tot.heat_to_air_j += q_air * dt
        tot.cooling_energy_j += cooling_w * dt
        tot.output_tokens += out
        offered = work.offered
        tot.demanded_tokens += offered
        tot.gpu_ticks += n
        up = None if self.all_up else self.up_at == 0.0
        if self.power_bound is not None:
            live = (lambda a: a) if up is None else (lambda a: a & up)
            tot.power_capped_gpu_ticks += int(np.count_nonzero(live(self.power_bound)))
            thermal = [a for a in (self.thermal_bound, self.hw_thermal) if a is not None]
            if thermal:
                either = thermal[0] | thermal[1] if len(thermal) == 2 else thermal[0]
                tot.thermal_gpu_ticks += int(np.count_nonzero(live(either)))
            if self.any_brake:
                tot.brake_gpu_ticks += int(np.count_nonzero(live(self.cond.brake)))
        if up is not None:
            tot.down_gpu_ticks += n - int(np.count_nonzero(up))
        tot.gpu_power_max_w = max(tot.gpu_power_max_w, self.power_range[1])
        tot.facility_power_max_w = max(tot.facility_power_max_w, facility_w)
        self.facility_w[self.tick] = facility_w
        tot.gpu_temp_max_c = max(tot.gpu_temp_max_c, self.temp_max)

        clock = self.workload.clocks[k]
        busy = work.busy
        if up is not None:
            clock = clock * up
            busy = busy * up
        flags = None if self.flags is self.no_flags else self.flags
        self.rec.add(self.power, clock, busy, self.temp, flags, self.hbm_t, unchanged=self.repeat)
        acc = self.fac_acc
        acc[0] += out / dt
        acc[1] += offered / dt
        acc[2] += it_w
        acc[3] += facility_w
        acc[4] += gpu_w
        acc[5] = max(acc[5], rack_max)
        acc[6] += cooling_w

    def _flush(self, t: int, ticks_in_interval: int) -> None:
        now, m, acc = (t + 1) * self.dt, ticks_in_interval, self.fac_acc
        self.rec.flush(now)
        finite = np.isfinite(self.budget)
        row = {
            "time_s": now,
            "output_tokens_per_s": acc[0] / m,
            "demand_tokens_per_s": acc[1] / m,
            "backlog_tokens": self.workload.backlog_tokens(),
            "it_power_kw": acc[2] / m / 1e3,
            "facility_power_kw": acc[3] / m / 1e3,
            "gpu_power_kw": acc[4] / m / 1e3,
            "rack_power_max_kw": acc[5] / 1e3,
            "rack_budget_kw": float(self.budget[finite].min()) / 1e3 if finite.any() else np.nan,
            "gpu_temp_max_c": self.temp_max,
            "gpus_down": float(np.count_nonzero(self.up_at)),
            "cooling_power_kw": acc[6] / m / 1e3,
            "pue": acc[3] / acc[2] if acc[2] > 0 else np.nan,
            **self.plant.flush(),
        }
        if self.liquid:
            row.update({f"cdu{u}_supply_c": float(v) for u, v in enumerate(self.cdu_supply)})
        row.update({f"zone{z}_supply_c": float(v) for z, v in enumerate(self.air_supply)})
        row.update(self.halls.flush(m))
        self.fac_rows.append(row)
        acc[:] = 0.0
        if self.observe is not None:
            self.observe(Snapshot(now, self.rec.last(), row))

    def _stored_heat(self) -> float:
        """Heat held at the end in the GPUs' stacks, coolant loops and zone air, relative to the start (J)."""
        start = self.net.stored(self.temp0, self.temp0)
        stored = float((self.net.stored(self.case_t, self.sink_t) - start).sum())
        stored += float((self.zone_mc * (self.air_supply - self.air_supply0)).sum())
        if self.liquid:
            stored += float((self.cdu_mc * (self.cdu_supply - self.cdu_supply0)).sum())
        return stored
