"""Telemetry in dcgm-exporter names and units (DESIGN §5), decimated to a recording interval.

Every tick adds to per-GPU accumulators (a handful of in-place array operations); every recording
interval the accumulators become one row per GPU, node or rack. Aggregated levels keep per-GPU
semantics: mean power and clock of the group's GPUs, hottest die, OR of the reason flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pyarrow as pa

POWER = "DCGM_FI_DEV_POWER_USAGE"  # W
GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP"  # degC
MEMORY_TEMP = "DCGM_FI_DEV_MEMORY_TEMP"  # degC, the hottest HBM stack
SM_CLOCK = "DCGM_FI_DEV_SM_CLOCK"  # MHz
REASONS = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"  # bitmask
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # mJ since the start of the run
ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"  # 0-1
XID = "DCGM_FI_DEV_XID_ERRORS"  # work-losing errors (shutdowns, resets) in the interval


class Recorder:
    """Per-GPU accumulators for one recording interval, flushed to rows at each interval's end."""

    def __init__(self, n_gpus: int, group_size: int, level: str, gpu_model: str, gpus_per_node: int):
        self.group_size = group_size
        self.level = level
        self.gpu_model = gpu_model
        self.gpus_per_node = gpus_per_node
        self.n_groups = n_gpus // group_size
        self._power = np.zeros(n_gpus)
        self._clock = np.zeros(n_gpus)
        self._active = np.zeros(n_gpus)
        self._temp = np.full(n_gpus, -np.inf)
        self._memory_temp = np.full(n_gpus, -np.inf)
        self._flags = np.zeros(n_gpus, dtype=np.int64)
        self._errors = np.zeros(n_gpus, dtype=np.int64)
        self._ticks = 0
        self._chunks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        power: np.ndarray,
        clock: np.ndarray,
        active: np.ndarray,
        temp: np.ndarray,
        flags: np.ndarray,
        memory_temp: np.ndarray,
    ) -> None:
        self._power += power
        self._clock += clock
        self._active += active
        np.maximum(self._temp, temp, out=self._temp)
        np.maximum(self._memory_temp, memory_temp, out=self._memory_temp)
        self._flags |= flags
        self._ticks += 1

    def error(self, gpus: np.ndarray) -> None:
        np.add.at(self._errors, gpus, 1)

    def flush(self, time_s: float, energy_j: np.ndarray) -> None:
        if self._ticks == 0:
            return
        g, n = self.group_size, self.n_groups
        inv = 1.0 / (self._ticks * g)
        chunk = {
            "time_s": np.full(n, time_s),
            POWER: self._power.reshape(n, g).sum(1) * inv,
            GPU_TEMP: self._temp.reshape(n, g).max(1),
            MEMORY_TEMP: self._memory_temp.reshape(n, g).max(1),
            SM_CLOCK: self._clock.reshape(n, g).sum(1) * inv,
            REASONS: np.bitwise_or.reduce(self._flags.reshape(n, g), axis=1),
            ENERGY: energy_j.reshape(n, g).sum(1) * (1e3 / g),
            ACTIVE: self._active.reshape(n, g).sum(1) * inv,
            XID: self._errors.reshape(n, g).sum(1),
        }
        for column in chunk.values():
            column.flags.writeable = False  # observers see these rows (Snapshot): read-only
        self._chunks.append(chunk)
        for acc in (self._power, self._clock, self._active, self._flags, self._errors):
            acc.fill(0)
        self._temp.fill(-np.inf)
        self._memory_temp.fill(-np.inf)
        self._ticks = 0

    def last(self) -> dict[str, np.ndarray]:
        """The latest interval's row: one array per column, one element per GPU, node or rack."""
        return self._chunks[-1] if self._chunks else {}

    def table(self) -> pa.Table:
        n = self.n_groups
        ids = np.arange(n)
        columns: dict[str, pa.Array] = {}
        if not self._chunks:
            return pa.table({"time_s": pa.array([], pa.float64())})
        for key in self._chunks[0]:
            columns[key] = pa.array(np.concatenate([c[key] for c in self._chunks]))
        repeats = len(self._chunks)
        label = {"gpu": "gpu", "node": "node", "rack": "rack"}[self.level]
        columns[label] = pa.array(np.tile(ids, repeats))
        if self.level == "gpu":
            host = np.tile(ids // self.gpus_per_node, repeats)
        elif self.level == "node":
            host = np.tile(ids, repeats)
        else:
            host = None
        if host is not None:
            columns["Hostname"] = pa.DictionaryArray.from_arrays(
                pa.array(host, pa.int32()), pa.array([f"node-{i:05d}" for i in range(int(host.max()) + 1)])
            )
        columns["modelName"] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n * repeats, dtype=np.int32)), pa.array([self.gpu_model])
        )
        return pa.table(columns)


@dataclass(frozen=True)
class Snapshot:
    """One recording interval as the engine records it, for observers (live metrics): the recorder's
    row (`Recorder.last`, at the recording level) and the facility row, both read-only."""

    time_s: float
    gpus: Mapping[str, np.ndarray]
    facility: Mapping[str, float]

    def __post_init__(self) -> None:  # read-only views: the results hold the same rows
        object.__setattr__(self, "gpus", MappingProxyType(self.gpus))
        object.__setattr__(self, "facility", MappingProxyType(self.facility))


@dataclass
class EventLog:
    """Discrete events: throttle start/stop per reason, shutdowns, resets, recoveries, supply and cooling."""

    time_s: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)  # gpu, node, rack, cdu, zone, facility
    index: list[int] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)

    def add(self, time_s: float, kind: str, scope: str, index: int, detail: str = "") -> None:
        self.time_s.append(time_s)
        self.kind.append(kind)
        self.scope.append(scope)
        self.index.append(int(index))
        self.detail.append(detail)

    def add_many(self, time_s: float, kind: str, scope: str, indices: np.ndarray, detail: str = "") -> None:
        n = len(indices)
        self.time_s.extend([time_s] * n)
        self.kind.extend([kind] * n)
        self.scope.extend([scope] * n)
        self.index.extend(int(i) for i in indices)
        self.detail.extend([detail] * n)

    def count(self, kind: str) -> int:
        return sum(1 for k in self.kind if k == kind)

    def table(self) -> pa.Table:
        return pa.table(
            {
                "time_s": pa.array(self.time_s, pa.float64()),
                "kind": pa.array(self.kind, pa.string()),
                "scope": pa.array(self.scope, pa.string()),
                "index": pa.array(self.index, pa.int64()),
                "detail": pa.array(self.detail, pa.string()),
            }
        )
