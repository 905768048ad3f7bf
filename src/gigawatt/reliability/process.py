"""Failures inside the tick loop, driven by the loop's temperatures and supply events (DESIGN 2, 4.5).

The process keeps one cumulative hazard against one Exp(1) threshold: each tick it adds the total hazard of
all components over all units, and only when the sum crosses the threshold does it draw which component
failed, on which unit, and where in the tick (no per-GPU random draw). The per-GPU acceleration factors
(an O(n) pass with an exp per GPU) are refreshed every `refresh_s` of simulated time (default a minute),
and at the next tick after a node is drained or returns or a supply event starts or ends; in between the
hazard is held. Die temperatures follow their RC constant of seconds, but a failure hazard integrates over
hours: holding it for a minute changes the integrated hazard far less than the rates' own uncertainty,
and keeps the process to tens of microseconds per tick at 16,384 GPUs. The sampling is exact for a hazard
held constant between refreshes. Its random numbers come from their own stream, so switching reliability
on shifts no other draw of the run.

A failure that takes a node (every scope but job) drains it: the node fails no further until its sampled
repair time has passed. What a failure does to the workload (interrupt the job, retry requests) is the
engine's business; a silent data corruption is reported as silent, and `sdc_latency` says how much
training progress passes before a detector catches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gigawatt.reliability.components import SDC, Component, with_overrides
from gigawatt.reliability.config import ReliabilityConfig
from gigawatt.reliability.hazard import Acceleration, SupplyEffect
from gigawatt.reliability.sdc import Detectors, default_detectors, detectors_from

# Tag of the process's random stream: default_rng([seed, STREAM]) never overlaps the engine's draws.
STREAM = 0x5E11AB1E


@dataclass(frozen=True)
class Failure:
    time_s: float
    component: str
    scope: str  # gpu, node, fabric or job (see catalog/failures.yaml)
    index: int  # the failed unit: a GPU (per-GPU components), a node, or -1 (per-job components)
    node: int  # the node drained for repair, or -1 when the job restarts in place
    xid: int | None
    silent: bool  # a silent data corruption: nothing is visible until a detector fires
    repair_s: float | None  # until the drained node is back; None when nothing is drained
    detail: str


class FailureProcess:
    """Samples failures tick by tick for `n_gpus` GPUs in nodes of `gpus_per_node`."""

    def __init__(
        self,
        n_gpus: int,
        gpus_per_node: int,
        seed: int,
        components: Sequence[Component] | None = None,
        acceleration: Acceleration | None = None,
        supply: SupplyEffect | None = None,
        detectors: Detectors | None = None,
        refresh_s: float = 60.0,
    ):
        if refresh_s < 0:
            raise ValueError("refresh_s must not be negative")
        if n_gpus <= 0 or gpus_per_node <= 0 or n_gpus % gpus_per_node:
            raise ValueError(
                f"n_gpus ({n_gpus}) must be a positive multiple of gpus_per_node ({gpus_per_node})"
            )
        self.n_gpus = n_gpus
        self.gpus_per_node = gpus_per_node
        self.n_nodes = n_gpus // gpus_per_node
        self.components = tuple(with_overrides() if components is None else components)
        self.acceleration = acceleration or Acceleration.from_setting()
        self.supply = supply or SupplyEffect.from_setting()
        self.detectors = detectors or default_detectors()
        self._rates = np.array([c.rate_per_unit_s for c in self.components])
        # Components alike in unit, temperature driver and supply response share one weight computation.
        keys = [
            (c.unit, c.temperature, c.activation_energy_ev, c.supply_aftermath_multiplier)
            for c in self.components
        ]
        self._group_of = np.array([list(dict.fromkeys(keys)).index(k) for k in keys])
        self._leaders = [self.components[keys.index(k)] for k in dict.fromkeys(keys)]
        self._rng = np.random.default_rng([seed, STREAM])
        self._threshold = self._rng.exponential()
        self._accumulated = 0.0
        self._down_until = np.full(self.n_nodes, -np.inf)
        self._stressed = np.zeros(self.n_nodes, dtype=bool)
        self._aftermath_until = np.full(self.n_nodes, -np.inf)
        self.refresh_s = refresh_s
        self._refreshed_at = -np.inf
        self._changes_at = -np.inf  # next time a drained node returns or an aftermath window closes
        self._weights_held: list[np.ndarray | float] = []
        self._sums_held = np.zeros(len(self.components))
        self.rate_s = 0.0  # total hazard of the last tick, per second (SDC onsets included)

    @classmethod
    def from_config(
        cls,
        config: ReliabilityConfig | None,
        n_gpus: int,
        gpus_per_node: int,
        seed: int,
        refresh_s: float = 60.0,
    ) -> FailureProcess:
        if config is None:
            return cls(n_gpus, gpus_per_node, seed, refresh_s=refresh_s)
        return cls(
            n_gpus,
            gpus_per_node,
            seed,
            components=with_overrides(config.components, config.rate_basis),
            acceleration=Acceleration.from_setting(config.temperature_acceleration),
            supply=SupplyEffect.from_setting(config.supply_events),
            detectors=detectors_from(config.sdc_detectors),
            refresh_s=refresh_s,
        )

    def nodes_down(self, now_s: float) -> np.ndarray:
        """Nodes drained for repair at now_s."""
        return self._down_until > now_s

    def replace_node(self, node: int, at_s: float) -> None:
        """A spare takes a drained node's place from `at_s`: that position of the job can fail again."""
        self._down_until[node] = min(self._down_until[node], at_s)
        self._changes_at = -np.inf  # its weight returns at the next refresh

    def sdc_latency(self, onset_progress_s: float) -> float:
        """Training progress from a corruption's onset until a detector fires (inf: it escapes)."""
        return float(self.detectors.sample_latency(self._rng, np.array([onset_progress_s]))[0])

    def step(
        self,
        now_s: float,
        dt_s: float,
        die_temp_c: np.ndarray | float | None,
        hbm_temp_c: np.ndarray | float | None = None,
        node_supply_stress: np.ndarray | None = None,
    ) -> list[Failure]:
        """Failures in (now_s, now_s + dt_s].

        die_temp_c, hbm_temp_c: per GPU (or one value for all; None: the reference temperature).
        node_supply_stress: per node, the share of supply lost this tick (0 normal, 1 outage or lost feed);
        a node entering stress may be damaged at once, and its hazard stays raised for the aftermath window.
        """
        failures = self._supply_events(now_s, dt_s, node_supply_stress)
        if now_s >= self._changes_at or now_s - self._refreshed_at >= self.refresh_s:
            self._refresh(now_s, die_temp_c, hbm_temp_c)
        weights = self._weights_held
        hazard = self._rates * self._sums_held
        total = float(hazard.sum())
        self.rate_s = total
        remaining = total * dt_s
        position = 0.0
        while self._accumulated + remaining >= self._threshold:
            need = self._threshold - self._accumulated
            position += need
            remaining -= need
            self._accumulated = 0.0
            self._threshold = self._rng.exponential()
            which = int(self._rng.choice(len(hazard), p=hazard / total))
            at = now_s + dt_s * min(position / (total * dt_s), 1.0)
            failures.append(self._fail(self.components[which], weights[which], at))
        self._accumulated += remaining
        return failures

    def _refresh(
        self, now_s: float, die_temp_c: np.ndarray | float | None, hbm_temp_c: np.ndarray | float | None
    ) -> None:
        up = self._down_until <= now_s
        in_aftermath = self._aftermath_until > now_s
        self._weights_held, self._sums_held = self._weights(up, in_aftermath, die_temp_c, hbm_temp_c)
        self._refreshed_at = now_s
        ahead = np.concatenate([self._down_until[~up], self._aftermath_until[in_aftermath]])
        self._changes_at = float(ahead.min()) if ahead.size else np.inf

    def _units(self, c: Component) -> int:
        return c.units(self.n_gpus, self.gpus_per_node)

    def _weights(
        self,
        up: np.ndarray,
        in_aftermath: np.ndarray,
        die_temp_c: np.ndarray | float | None,
        hbm_temp_c: np.ndarray | float | None,
    ) -> tuple[list[np.ndarray | float], np.ndarray]:
        """Relative hazard of each unit of each component (a scalar when all units are alike), and its sum
        over the units."""
        all_up, calm = bool(up.all()), not self.supply.enabled or not in_aftermath.any()
        accel: dict[tuple[str, float], np.ndarray | float] = {}
        group_weights: list[np.ndarray | float] = []
        group_sums = np.empty(len(self._leaders))
        for g, c in enumerate(self._leaders):
            driver = (c.temperature, c.activation_energy_ev)
            if driver not in accel:
                accel[driver] = self.acceleration.factor(c, die_temp_c, hbm_temp_c)
            raised = None if calm or c.supply_aftermath_multiplier == 1.0 else in_aftermath
            w = self._unit_weights(c, up, all_up, raised, accel[driver])
            group_weights.append(w)
            group_sums[g] = w.sum() if isinstance(w, np.ndarray) else w * self._units(c)
        return [group_weights[g] for g in self._group_of], group_sums[self._group_of]

    def _unit_weights(
        self,
        c: Component,
        up: np.ndarray,
        all_up: bool,
        in_aftermath: np.ndarray | None,
        accel: np.ndarray | float,
    ) -> np.ndarray | float:
        if c.unit == "job":
            return 1.0
        node = 1.0 if all_up else up.astype(float)
        if in_aftermath is not None:
            node = node * self.supply.multiplier(c, in_aftermath)
        if c.unit == "node":
            if isinstance(accel, np.ndarray) and accel.size == self.n_gpus:
                accel = accel.reshape(self.n_nodes, self.gpus_per_node).mean(axis=1)
            weights = node * accel
        elif isinstance(node, np.ndarray):
            per_gpu = np.broadcast_to(np.asarray(accel, dtype=float), (self.n_gpus,))
            weights = (per_gpu.reshape(self.n_nodes, self.gpus_per_node) * node[:, None]).ravel()
        else:
            weights = accel
        if isinstance(weights, np.ndarray) and weights.ndim == 0:
            return float(weights)
        return weights

    def _pick_unit(self, c: Component, weights: np.ndarray | float) -> int:
        if c.unit == "job":
            return -1
        if isinstance(weights, np.ndarray):
            cum = np.cumsum(weights)
            return int(np.searchsorted(cum, self._rng.random() * cum[-1], side="right"))
        return int(self._rng.integers(self._units(c)))

    def _fail(self, c: Component, weights: np.ndarray | float, at: float, why: str = "") -> Failure:
        index = self._pick_unit(c, weights)
        node = -1
        if c.takes_node:
            node = index // self.gpus_per_node if c.unit == "gpu" else index
        return self._failure(c, index, node, at, why)

    def _failure(self, c: Component, index: int, node: int, at: float, why: str) -> Failure:
        repair = None
        if node >= 0 and c.repair_median_s is not None:
            repair = c.repair_median_s * float(np.exp(c.repair_sigma * self._rng.standard_normal()))
            self._down_until[node] = max(self._down_until[node], at + repair)
            self._changes_at = -np.inf  # the drained node's weight drops at the next tick
        where = {"gpu": f"GPU {index}", "node": f"node {index}", "job": "the job"}[c.unit]
        xid = f" (Xid {c.xid})" if c.xid is not None else ""
        silent = c.name == SDC
        detail = f"{c.label} on {where}{xid}" + (": silent until a detector fires" if silent else "") + why
        return Failure(at, c.name, c.scope, index, node, c.xid, silent, repair, detail)

    def _supply_events(self, now_s: float, dt_s: float, stress: np.ndarray | None) -> list[Failure]:
        """Damage at the onset of supply events, and the aftermath windows they open."""
        if stress is None or not self.supply.enabled:
            return []
        stressed = np.asarray(stress) > 0.0
        if not stressed.any():  # the common case: a quiet supply
            self._stressed = stressed
            return []
        severity = np.clip(np.asarray(stress, dtype=float), 0.0, 1.0)
        onset = np.flatnonzero(stressed & ~self._stressed & (self._down_until <= now_s))
        self._stressed = stressed
        self._aftermath_until[stressed] = now_s + dt_s + self.supply.aftermath_window_s
        self._changes_at = -np.inf
        failures: list[Failure] = []
        for c in self.components:
            if c.supply_event_probability == 0.0 or onset.size == 0:
                continue
            per_node = np.repeat(onset, self.gpus_per_node if c.unit == "gpu" else 1)
            units = (
                per_node * self.gpus_per_node + np.tile(np.arange(self.gpus_per_node), onset.size)
                if c.unit == "gpu"
                else per_node
            )
            hit = self._rng.random(units.size) < self.supply.damage_probability(c, severity[per_node])
            for unit, node in zip(units[hit], per_node[hit], strict=True):
                if self._down_until[node] <= now_s:
                    why = f", damaged by a supply event (severity {severity[node]:.2f})"
                    failures.append(self._failure(c, int(unit), int(node), now_s, why))
        return failures
