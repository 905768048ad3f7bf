"""Serving with real traffic in the loop: request-level or fluid replicas driven tick by tick.

Each tick every replica runs at its slowest GPU's clock and reports how long its GPUs computed and
streamed HBM; those activities set each GPU's power. For the next tick the governor budgets a busy
replica as saturated (the replica's own iteration model at full batches) and an idle one from its last
tick's work, whose dynamic power at another clock follows v(k)².
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from gigawatt.catalog import GpuSpec
from gigawatt.governor import HighestAtMost
from gigawatt.groups import group_min
from gigawatt.power.dvfs import voltage
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.links import comm_power_w, nvlink_rate
from gigawatt.scenario import Scenario, Serving
from gigawatt.workload.base import LatencySamples, TickWork
from gigawatt.workload.serving import metrics
from gigawatt.workload.serving.fluid import FluidServing
from gigawatt.workload.serving.request_level import RequestLevel, saturated_activity, saturated_comm_share
from gigawatt.workload.serving.steady import build_profile, typical_steady_load


class DrivenServing:
    offered_label = "demand"
    duty = None
    def __init__(self, sc: Scenario, gpu: GpuSpec):
        w = sc.workload
        assert isinstance(w, Serving)
        cl = sc.cluster
        self.w, self.gpu, self.dt = w, gpu, sc.tick
        self.tp = w.tensor_parallel * w.pipeline_parallel  # GPUs per replica
        self.n = cl.gpus
        self.n_replicas = self.n // self.tp
        args = (w, gpu, self.n_replicas, cl.gpus_per_node, sc.ticks * sc.tick, sc.tick, sc.seed)
        self.driver: RequestLevel | FluidServing = (
            RequestLevel(*args) if w.resolution == "request" else FluidServing(*args)
        )
        # Clock grid and reference capacity from the run's typical request; the governor's saturated
        # power from the replica's own iteration model (pipeline stages and all).
        typical = typical_steady_load(
            w, self.driver.arrivals.prompt_tokens, self.driver.arrivals.output_tokens
        )
        p = build_profile(typical, gpu, cl.gpus_per_node, check_fit=False)
        a_c, a_m = saturated_activity(self.driver.setup, w.scheduler.max_num_seqs)
        # Share of busy time in collectives, from full batches (the busy time's mix varies little with load),
        # and what the GPU's links and HBM draw in it (power.links).
        self.comm_share = saturated_comm_share(self.driver.setup, w.scheduler.max_num_seqs)
        self.comm_w = comm_power_w(gpu, self.comm_share, nvlink_rate(gpu))
        saturated = np.maximum.accumulate(gpu_power(gpu, p.clocks, a_c, a_m) + self.comm_w)
        self.profile = p = dataclasses.replace(p, busy_power=saturated)
        self.clocks = p.clocks
        self.top = len(p.clocks) - 1
        self.saturated = HighestAtMost(p.busy_power)
        # Dynamic power at a clock follows v(k)² for the same compute work.
        self.volt2 = (voltage(gpu, p.clocks) / gpu.voltage_max) ** 2
        self.light: HighestAtMost | None = HighestAtMost(self.volt2)
        self.dyn_full = gpu.power_full_activity - gpu.idle_power
        self._rep_k: np.ndarray | int = self.top
        self.offered_total = 0.0
        self.served_total = 0.0
        self.lost_tokens = 0.0  # replicas redo their lost requests themselves
        self.silent_corruptions = 0
        self.input_per_output = p.input_per_output

    # ---------------------------------------------------------------- the loop

    def start_tick(self, tick: int, now: float, up: np.ndarray | None, failure_rate_s: float) -> None:
        return

    def light_query(self, budget_w: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
        """Last tick's work at another clock costs P_idle + ΔP·(w_c·C·v(k)² + w_m·M), with C the compute
        work in units of full-clock busy time and M the HBM busy share; the query inverts the v² table. A
        busy replica is left to the saturated (P_busy) look-up, which bounds its power whatever work
        arrives this tick."""
        act = self.driver.last
        if act is None:
            return None
        gpu, dt, w_m = self.gpu, self.dt, self.gpu.memory_power_fraction
        rep_clock = self.profile.clocks[self._rep_k] if np.ndim(self._rep_k) else self.profile.clocks[-1]
        compute = np.repeat(act.compute_s / dt * rep_clock / gpu.clock_boost, self.tp)
        memory = np.repeat(act.memory_s / dt, self.tp)
        # A replica busy for over half the last tick, or with requests queued, may well be busy all of this
        # one: budget it as saturated.
        saturated = np.repeat((act.busy_s >= 0.5 * dt) | (act.queued > 0), self.tp)
        idle, dyn_full = gpu.idle_power, self.dyn_full

        def query(i: np.ndarray) -> np.ndarray:
            spare = budget_w[i] - idle - dyn_full * w_m * memory[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                q = spare / (dyn_full * (1.0 - w_m) * compute[i])
            q = np.where(compute[i] > 0, q, np.where(spare >= 0, np.inf, -np.inf))
            return np.where(saturated[i], -np.inf, q)

        return query

    def step(self, tick: int, now: float, dt: float, k: np.ndarray | int, up: np.ndarray | None) -> TickWork:
        """Each replica runs at its slowest GPU's clock; one with a GPU down serves nothing."""
        k_gpu = np.broadcast_to(k, (self.n,))
        self._rep_k = group_min(k_gpu, self.tp) if self.tp > 1 else np.array(k_gpu)
        up_gpu = np.ones(self.n, dtype=bool) if up is None else up
        available = group_min(up_gpu.astype(float), self.tp) > 0 if self.tp > 1 else up_gpu
        act = self.driver.advance(now + dt, self._rep_k, available)
        offered = float(self.driver.offered_by_tick[min(tick, len(self.driver.offered_by_tick) - 1)])
        self.offered_total += offered
        self.served_total += float(act.output_tokens.sum())
        gpu, w_m = self.gpu, self.gpu.memory_power_fraction
        compute = np.repeat(act.compute_s / dt * self.profile.clocks[self._rep_k] / gpu.clock_boost, self.tp)
        memory = np.repeat(act.memory_s / dt, self.tp)
        busy = np.repeat(np.minimum(act.busy_s / dt, 1.0), self.tp)
        return TickWork(
            served=act.output_tokens,
            offered=offered,
            busy=busy,
            dynamic_w=self.dyn_full * ((1.0 - w_m) * compute * self.volt2[k] + w_m * memory)
            + busy * self.comm_w[k],
            comm=busy * self.comm_share[k],
            memory_w=self.dyn_full * w_m * memory,
        )

    def lose_work(self, gpus: np.ndarray, now: float, cause: str = "", held_s: float = 0.0) -> None:
        """The replica simulation knows exactly what was in flight."""
        self.driver.fail(np.unique(gpus // self.tp), now)

    def silent_corruption(self, gpu: int, now: float, latency_of: Callable[[float], float]) -> None:
        self.silent_corruptions += 1  # a served request's output is corrupted: counted, not detected

    def memory_used_bytes(self) -> float:
        """Weights + the typical batch's KV cache per GPU (the serving profile's memory)."""
        return self.profile.memory_per_gpu

    def backlog_tokens(self) -> float:
        return self.offered_total - self.served_total

    # ---------------------------------------------------------------- reporting

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.profile.model.name,
            "precision": self.w.precision,
            "tensor_parallel": self.w.tensor_parallel,
            "expert_parallel": None,
            "replicas": self.n_replicas,
        }

    def unthrottled_gpu_power_w(self, offered_tokens_per_s: float) -> float:
        p, top = self.profile, self.top
        demand = offered_tokens_per_s / max(self.n_replicas, 1) / p.capacity[top]
        return self.gpu.idle_power + min(demand, 1.0) * (p.busy_power[top] - self.gpu.idle_power)

    def summary_sections(
        self, duration_s: float, it_energy_j: float, output_tokens: float, facility_w: np.ndarray
    ) -> dict[str, Any]:
        """Request metrics (request level) or rates and mean TPOT (fluid), with the headline keys on top."""
        w, driver = self.w, self.driver
        if isinstance(driver, RequestLevel):
            records = [r.records() for r in driver.replicas]
            stats = [r.stats() for r in driver.replicas]
            serving = metrics.summarize(records, stats, duration_s, w.slo.ttft, w.slo.tpot, it_energy_j)
        else:
            serving = {
                "resolution": "fluid",
                "tpot_s": {"mean": driver.mean_tpot_s},
                "ttft_s": None,
                "output_tokens_per_s": output_tokens / duration_s,
                "input_tokens_per_s": output_tokens * driver.prompt_per_output / duration_s,
                "goodput_requests_per_s": None,
                "energy_j_per_output_token": it_energy_j / output_tokens if output_tokens else None,
            }
        headline = {
            key: serving.get(key)
            for key in (
                "ttft_s",
                "tpot_s",
                "goodput_requests_per_s",
                "output_tokens_per_s",
                "energy_j_per_output_token",
            )
        }
        return {**headline, "serving": {"resolution": w.resolution, "arrivals": w.arrivals.kind, **serving}}

    def latency_samples(self) -> LatencySamples | None:
        if not isinstance(self.driver, RequestLevel):
            return None
        records = [r.records() for r in self.driver.replicas]
        starting = self.w.startup.begin == "cold"  # the "before" window opens once the replicas are up
        warm = max((r.cold_start_s for r in self.driver.replicas), default=0.0) if starting else 0.0
        return np.concatenate([r.arrival_s for r in records]), metrics.latencies(records), warm

    def chain_effects(self, summary: dict[str, Any]) -> list[str]:
        return []

    def tables(self) -> dict[str, pa.Table]:
        if not isinstance(self.driver, RequestLevel):
            return {}
        return {"requests": metrics.requests_table([r.records() for r in self.driver.replicas])}

    def report_sections(self, tables: dict[str, pa.Table]) -> list[Any]:
        from gigawatt.report.latency import latency_section  # the report imports the summary, and so on

        return [latency_section(tables["requests"])] if "requests" in tables else []
