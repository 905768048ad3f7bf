"""How a training job comes back after an interruption: restart stage times and the spare-node pool, from
the catalog (`catalog/failures.yaml`, restart) and a scenario's reliability section."""

from __future__ import annotations

from dataclasses import dataclass

from gigawatt.reliability.components import catalog_value
from gigawatt.reliability.config import ReliabilityConfig


@dataclass(frozen=True)
class RestartTimes:
    reschedule_s: float  # relaunch the job on a healthy set of nodes
    communicator_init_s: float  # process start, rendezvous, NCCL set-up

    @classmethod
    def of(cls, config: ReliabilityConfig | None) -> RestartTimes:
        reschedule = catalog_value("restart", "reschedule", "time")
        init = catalog_value("restart", "communicator_init", "time")
        if config is not None:
            if config.restart.reschedule is not None:
                reschedule = config.restart.reschedule
            if config.restart.communicator_init is not None:
                init = config.restart.communicator_init
        return cls(reschedule, init)


def spare_nodes(config: ReliabilityConfig | None) -> int:
    """Hot spares beside the job (0: it waits for the drained node's repair)."""
    if config is not None and config.spares.policy == "wait_for_repair":
        return 0
    if config is not None and config.spares.pool_nodes is not None:
        return config.spares.pool_nodes
    return int(catalog_value("restart", "spare_nodes"))
