"""What a router may know about the machines: where experts live and how each GPU is doing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.placement import Placement


@dataclass(frozen=True)
class ExpertMap:
    """GPUs holding each logical expert.

    replica_gpu: (experts, max_replicas) GPU of each replica, -1 padding; column 0 is the home replica.
    """

    replica_gpu: NDArray[np.int32]
    n_gpus: int

    def __post_init__(self) -> None:
        table = self.replica_gpu
        if table.ndim != 2 or table.shape[1] < 1 or (table[:, 0] < 0).any():
            raise ValueError(
                "replica_gpu must be (experts, replicas) with a GPU in column 0 for every expert"
            )
        if (table >= self.n_gpus).any():
            raise ValueError(f"replica_gpu names a GPU >= n_gpus ({self.n_gpus})")

    @classmethod
    def from_expert_gpu(cls, expert_gpu: ArrayLike, n_gpus: int | None = None) -> ExpertMap:
        """One replica per expert: expert_gpu[e] is the GPU of expert e."""
        home = np.asarray(expert_gpu)
        if home.ndim != 1 or not np.issubdtype(home.dtype, np.integer) or (home < 0).any():
            raise ValueError("expert_gpu must be a 1-D array of non-negative GPU ids")
        return cls(home.astype(np.int32)[:, None], int(home.max()) + 1 if n_gpus is None else n_gpus)

    @classmethod
    def from_placement(cls, placement: Placement, layer: int = 0) -> ExpertMap:
        """Replicas of one layer of an EPLB-style placement (replicas listed in slot order)."""
        phy2log = placement.phy2log[layer]
        counts = placement.logcnt[layer]
        by_expert = np.argsort(phy2log, kind="stable")
        first = np.cumsum(counts) - counts
        replica_rank = np.arange(by_expert.size) - np.repeat(first, counts)
        table = np.full((counts.size, int(counts.max())), -1, dtype=np.int32)
        table[phy2log[by_expert], replica_rank] = placement.slot_gpu()[by_expert]
        return cls(table, placement.n_gpus)

    @property
    def n_experts(self) -> int:
        return self.replica_gpu.shape[0]


@dataclass(frozen=True)
class GpuState:
    """Live state of each GPU.

    speed: relative speed in [0, 1]: 1 unthrottled, 0 failed.
    queue: tokens already waiting on each GPU.
    """

    speed: NDArray[np.float64]
    queue: NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.speed.shape != self.queue.shape or self.speed.ndim != 1:
            raise ValueError("speed and queue must be 1-D arrays of the same length (one entry per GPU)")
        if ((self.speed < 0) | (self.speed > 1)).any() or (self.queue < 0).any():
            raise ValueError("speed must be within [0, 1] and queue non-negative")

    @classmethod
    def of(cls, speed: ArrayLike, queue: ArrayLike | None = None) -> GpuState:
        speed_array = np.asarray(speed, dtype=np.float64)
        queue_array = np.zeros_like(speed_array) if queue is None else np.asarray(queue, dtype=np.float64)
        return cls(speed_array, queue_array)

    @classmethod
    def healthy(cls, n_gpus: int) -> GpuState:
        return cls.of(np.ones(n_gpus))

    @property
    def alive(self) -> NDArray[np.bool_]:
        return self.speed > 0


@dataclass(frozen=True)
class SystemView:
    """Everything about the system a router may use; every part is optional.

    load: scalar system load in [0, 1], read by adaptive K (else derived from the GPU queues).
    """

    expert_map: ExpertMap | None = None
    gpus: GpuState | None = None
    load: float | None = None

    def __post_init__(self) -> None:
        map_gpus = self.expert_map.n_gpus if self.expert_map is not None else None
        if self.gpus is not None and map_gpus is not None and self.gpus.speed.size != map_gpus:
            raise ValueError(f"GpuState has {self.gpus.speed.size} GPUs but the expert map has {map_gpus}")
        if self.load is not None and not 0.0 <= self.load <= 1.0:
            raise ValueError(f"load must be within [0, 1], got {self.load}")

    def gpu_state(self) -> GpuState:
        """The GPU state, all GPUs healthy and idle when none was given (needs an expert map)."""
        if self.gpus is not None:
            return self.gpus
        if self.expert_map is None:
            raise ValueError("this needs an expert map or a GpuState")
        return GpuState.healthy(self.expert_map.n_gpus)
