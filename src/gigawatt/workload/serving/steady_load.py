"""Steady serving in the loop: each replica serves its backlog plus the offered token rate, up to its
capacity at its slowest GPU's clock (per-clock tables from `steady.build_profile`).

Expert-parallel MoE replicas re-sample every GPU's routed-expert load from the live GPU speeds every
routing interval; a loaded GPU's cycle stretches by its share of expert work, and the replica waits for
its slowest GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from gigawatt.catalog import GpuSpec
from gigawatt.governor import HighestAtMost
from gigawatt.groups import group_min
from gigawatt.scenario import Scenario, SteadyServing
from gigawatt.workload.base import LatencySamples, TickWork
from gigawatt.workload.serving.expert_load import ExpertLoad
from gigawatt.workload.serving.steady import build_profile


class SteadyLoad:
    offered_label = "demand"
    duty = None
    def __init__(self, sc: Scenario, gpu: GpuSpec):
        w = sc.workload
        assert isinstance(w, SteadyServing)
        self.w, self.gpu = w, gpu
        self.profile = p = build_profile(w, gpu, sc.cluster.gpus_per_node)
        self.tp = p.tp
        self.n = sc.cluster.gpus
        self.n_replicas = self.n // self.tp
        self.clocks = p.clocks
        self.top = len(p.clocks) - 1
        self.saturated = HighestAtMost(p.busy_power)
        # Power above idle drawn by memory traffic while busy, per clock bin (the w_m·a_m term).
        dyn_full = gpu.power_full_activity - gpu.idle_power
        self.memory_w = dyn_full * gpu.memory_power_fraction * p.memory_activity
        # Below the voltage knee the energy per token is flat in the clock (rounding wiggles smoothed).
        self.light: HighestAtMost | None = HighestAtMost(np.maximum.accumulate(p.energy_per_token))
        self.input_per_output = p.input_per_output
        moe = w.moe
        self.experts = (
            ExpertLoad(p.model, moe, self.n_replicas, sc.cluster.gpus_per_node, sc.seed)
            if moe is not None
            else None
        )
        self.routing_every = max(1, round(moe.routing_interval / sc.tick)) if moe is not None else 0
        self.dt = sc.tick
        self.backlog = np.zeros(self.n_replicas)  # tokens waiting, new demand and rework alike
        self.rework = np.zeros(self.n_replicas)  # the part of the backlog that redoes lost work
        self.lost_tokens = 0.0
        self.silent_corruptions = 0
        if w.demand is not None:  # output tokens/s offered to each replica
            self.demand_rate = w.demand * p.capacity[self.top]
        else:
            assert w.demand_tokens_per_s is not None
            self.demand_rate = w.demand_tokens_per_s / self.n_replicas
        self.load: np.ndarray | None = None  # routed-expert load over the mean, per GPU (MoE only)
        self.work_scale: np.ndarray | float = 1.0
        self._last_k: np.ndarray | int = self.top
        self.routing: list[tuple[float, float, int, int]] = []  # (time, balancedness, dropped, rerouted)

    # ---------------------------------------------------------------- the loop

    def start_tick(self, tick: int, now: float, up: np.ndarray | None, failure_rate_s: float) -> None:
        if self.experts is not None and tick % self.routing_every == 0:
            self._route(now, up)

    def _route(self, now: float, up: np.ndarray | None) -> None:
        """Re-sample the routed-expert load of every GPU from its current speed."""
        assert self.experts is not None
        p = self.profile
        speed = p.capacity[self._last_k] / p.capacity[self.top]
        if up is not None:
            speed = speed * up
        sample = self.experts.sample(np.broadcast_to(speed, (self.n,)).reshape(self.n_replicas, self.tp))
        self.load = sample.load.ravel()
        # Work of a loaded GPU in units of a mean GPU's (the ratio at the top clock, for the power governor).
        top = self.top
        self.work_scale = (p.cycle_time[top] + (self.load - 1.0) * p.cycle_expert[top]) / p.cycle_time[top]
        self.routing.append((now, sample.balancedness, sample.dropped, sample.rerouted))

    def light_query(self, budget_w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """The light curve is W·E[k] for W tokens this tick; the query is (budget − P_idle) / W (J/token)."""
        idle, tp, scale = self.gpu.idle_power, self.tp, self.work_scale

        def query(i: np.ndarray) -> np.ndarray:  # the replicas' work is read only for the tight GPUs
            work = ((self.backlog + self.demand_rate * self.dt) / self.dt)[i // tp]
            work = work * (scale[i] if np.ndim(scale) else scale)
            return (budget_w[i] - idle) / np.maximum(work, 1e-12)

        return query

    def step(self, tick: int, now: float, dt: float, k: np.ndarray | int, up: np.ndarray | None) -> TickWork:
        """A replica runs at its slowest GPU; one with a GPU down serves nothing (DESIGN §2 step 3)."""
        p = self.profile
        if self.load is None:
            cap_gpu = p.capacity[k]
        else:  # a GPU's cycle stretches with its share of routed-expert work
            cap_gpu = p.tokens_per_cycle / (p.cycle_time[k] + (self.load - 1.0) * p.cycle_expert[k])
        self._last_k = k
        if up is None and np.ndim(cap_gpu) == 0 and not self.rework.any() and self._uniform():
            return self._uniform_step(cap_gpu, k, dt)
        if up is not None:
            cap_gpu = cap_gpu * up
        rep_cap = group_min(cap_gpu, self.tp) if np.ndim(cap_gpu) and self.tp > 1 else cap_gpu
        offered = self.demand_rate * dt
        wanted = self.backlog + offered
        served = np.minimum(wanted, rep_cap * dt)
        self.backlog = wanted - served
        if self.lost_tokens:  # lost work is redone first and is not new output
            redone = np.minimum(self.rework, served)
            self.rework -= redone
            served = served - redone
        with np.errstate(divide="ignore", invalid="ignore"):
            busy = np.repeat(served, self.tp) / (cap_gpu * dt)
        if up is not None:
            busy = np.nan_to_num(busy, nan=0.0, posinf=0.0)
        return TickWork(
            served=served,
            offered=offered * self.n_replicas,
            busy=busy,
            dynamic_w=busy * (p.busy_power[k] - self.gpu.idle_power),
            comm=busy * p.comm_activity[k],
            memory_w=busy * self.memory_w[k],
        )

    def _uniform(self) -> bool:
        """Every replica holds the same backlog (so, at one clock for all with no rework left, serves the
        same this tick): from the start, and again once a failure's lost work has been redone."""
        b = self.backlog
        return b[0] == b.min() and b[0] == b.max()

    def _uniform_step(self, cap: float, k: int, dt: float) -> TickWork:
        """`step` when every replica is alike: the per-GPU shares are one value for all, formed once
        (element for element the same arithmetic as the general step)."""
        p = self.profile
        offered = self.demand_rate * dt
        wanted = self.backlog[0] + offered
        served = min(wanted, cap * dt)
        self.backlog.fill(wanted - served)
        busy = served / (cap * dt)
        return TickWork(
            served=np.full(self.n_replicas, served),
            offered=offered * self.n_replicas,
            busy=busy,
            dynamic_w=busy * (p.busy_power[k] - self.gpu.idle_power),
            comm=busy * p.comm_activity[k],
            memory_w=busy * self.memory_w[k],
        )

    def lose_work(self, gpus: np.ndarray, now: float, cause: str = "", held_s: float = 0.0) -> None:
        """The replicas of these GPUs lose their in-flight sequences (half done on average) and redo them."""
        reps = np.unique(gpus // self.tp)
        lost = self.profile.tokens_per_cycle / 2.0
        self.backlog[reps] += lost
        self.rework[reps] += lost
        self.lost_tokens += lost * len(reps)

    def silent_corruption(self, gpu: int, now: float, latency_of: Callable[[float], float]) -> None:
        self.silent_corruptions += 1  # a served request's output is corrupted: counted, not detected

    def memory_used_bytes(self) -> float:
        """Weights + the typical batch's KV cache per GPU (the serving profile's memory)."""
        return self.profile.memory_per_gpu

    def backlog_tokens(self) -> float:
        return float(self.backlog.sum())

    # ---------------------------------------------------------------- reporting

    def describe(self) -> dict[str, Any]:
        moe = self.w.moe
        return {
            "model": self.profile.model.name,
            "precision": self.w.precision,
            "tensor_parallel": 1 if moe is not None else self.tp,
            "expert_parallel": moe.expert_parallel if moe is not None else None,
            "replicas": self.n_replicas,
        }

    def unthrottled_gpu_power_w(self, offered_tokens_per_s: float) -> float:
        p, top = self.profile, self.top
        demand = (
            self.w.demand
            if self.w.demand is not None
            else offered_tokens_per_s / max(self.n_replicas, 1) / p.capacity[top]
        )
        return self.gpu.idle_power + min(demand, 1.0) * (p.busy_power[top] - self.gpu.idle_power)

    def summary_sections(
        self, duration_s: float, it_energy_j: float, output_tokens: float, facility_w: np.ndarray
    ) -> dict[str, Any]:
        moe = self.w.moe
        if moe is None or not self.routing:
            return {}
        _, balanced, dropped, rerouted = zip(*self.routing, strict=True)
        return {
            "moe": {
                "router": moe.router,
                "placement": moe.placement,
                "expert_parallel": moe.expert_parallel,
                "redundant_experts": moe.redundant_experts,
                "routing_samples": len(self.routing),
                "balancedness_mean": float(np.mean(balanced)),
                "balancedness_min": float(np.min(balanced)),
                "dropped_assignments": int(sum(dropped)),
                "rerouted_assignments": int(sum(rerouted)),
                "max_gpu_load_over_mean_end": float(self.load.max()) if self.load is not None else None,
            }
        }

    def latency_samples(self) -> LatencySamples | None:
        return None

    def chain_effects(self, summary: dict[str, Any]) -> list[str]:
        if "moe" not in summary:
            return []
        moe = summary["moe"]
        return [
            f"expert load balancedness {moe['balancedness_mean']:.2f} ({moe['router']} router, "
            f"{moe['placement']} placement)"
        ]

    def tables(self) -> dict[str, pa.Table]:
        return {}

    def report_sections(self, tables: dict[str, pa.Table]) -> list[Any]:
        return []
