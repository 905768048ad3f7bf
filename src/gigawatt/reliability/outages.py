"""What a failure in the loop takes out of service, and for how long (DESIGN 4.5).

A failure on a GPU or a node drains that node: its GPUs stop. With hot spares the job relaunches on a
spare node (the drained node's GPUs stand for it again once the job is rescheduled), while the pool
lasts; a repaired node refills the pool. Without spares, or with the pool empty, the job waits for the
repair. A job-scope failure (software, a dependency) stops no GPU: the job restarts in place. Either way
the job notices only after the component's detection time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.reliability.config import ReliabilityConfig
from gigawatt.reliability.process import Failure, FailureProcess
from gigawatt.reliability.restart import RestartTimes, spare_nodes


@dataclass(frozen=True)
class Outage:
    failure: Failure
    gpus: np.ndarray  # the GPUs the failure hits (all of a drained node; none for a job-scope failure)
    down_s: float  # how long those GPUs stay out of service (0: the job restarts in place)
    held_s: float  # how long the job cannot restart, whatever its GPUs: detection, and a relaunch in place


class Outages:
    """Failures of the loop's GPUs as outages, with the spare-node pool."""

    def __init__(self, config: ReliabilityConfig | None, n_gpus: int, gpus_per_node: int, seed: int):
        self.process = FailureProcess.from_config(config, n_gpus, gpus_per_node, seed)
        self.gpus_per_node, self.n_gpus = gpus_per_node, n_gpus
        self.restart = RestartTimes.of(config)
        self.detection = {c.name: c.detection_s for c in self.process.components}
        self.unit = {c.name: c.unit for c in self.process.components}
        self.spares = spare_nodes(config)
        self._returns: list[float] = []  # when nodes lent from the pool are repaired and refill it

    def _hit(self, f: Failure) -> np.ndarray:
        """The GPUs a failure strikes: its GPU, its node's GPUs, or none (the job as a whole)."""
        unit = self.unit[f.component]
        if unit == "gpu":
            return np.array([f.index], dtype=np.int64)
        if unit == "node":
            return f.index * self.gpus_per_node + np.arange(self.gpus_per_node)
        return np.zeros(0, dtype=np.int64)

    @property
    def rate_s(self) -> float:
        """The live failure rate of the whole cluster (per second)."""
        return self.process.rate_s

    def step(
        self, now: float, dt: float, die_temp_c: np.ndarray, node_supply_stress: np.ndarray | None
    ) -> list[Outage]:
        self._returns = [t for t in self._returns if t > now]
        out = []
        for f in self.process.step(now, dt, die_temp_c, None, node_supply_stress):
            detection = self.detection.get(f.component, 0.0)
            hit = self._hit(f)
            if f.silent:
                out.append(Outage(f, hit, 0.0, 0.0))
            elif f.node < 0:  # the job's processes restart in place
                out.append(Outage(f, hit, 0.0, detection + self.restart.reschedule_s))
            else:
                gpus = f.node * self.gpus_per_node + np.arange(self.gpus_per_node)
                repair = f.repair_s if f.repair_s is not None else 0.0
                if len(self._returns) < self.spares:  # a spare takes the node's place when the job relaunches
                    self._returns.append(f.time_s + repair)
                    down = detection + self.restart.reschedule_s
                    self.process.replace_node(f.node, f.time_s + down)
                else:
                    down = detection + repair + self.restart.reschedule_s
                out.append(Outage(f, gpus, down, detection))
        return out
