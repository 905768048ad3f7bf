"""Telemetry in dcgm-exporter names, types and units (DESIGN §5), decimated to a recording interval.

Every tick adds to per-GPU accumulators (a handful of in-place array operations; a value shared by every
GPU adds to one number); every recording interval the accumulators become one row per GPU, node or rack.
Aggregated levels keep per-GPU semantics: mean power and clock of the group's GPUs, hottest die, OR of the
reason flags. The energy counter is the running sum of power × tick, formed at each interval's end.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import numpy as np
import pyarrow as pa

# Field names and units as dcgm-exporter's etc/default-counters.csv (github NVIDIA/dcgm-exporter) names
# them; the types follow DCGM's fields: temperatures, clocks, energy, memory, utilisation and XID are
# integers (int64 fields), power and the profiling ratio are doubles.
POWER = "DCGM_FI_DEV_POWER_USAGE"  # W
GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP"  # C
MEMORY_TEMP = "DCGM_FI_DEV_MEMORY_TEMP"  # C, the hottest HBM stack
SM_CLOCK = "DCGM_FI_DEV_SM_CLOCK"  # MHz
MEM_CLOCK = "DCGM_FI_DEV_MEM_CLOCK"  # MHz, the HBM clock
REASONS = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"  # bitmask
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # mJ since the start of the run
ACTIVE = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"  # 0-1
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"  # %, share of the interval a kernel ran
FB_USED = "DCGM_FI_DEV_FB_USED"  # MiB
FB_FREE = "DCGM_FI_DEV_FB_FREE"  # MiB
XID = "DCGM_FI_DEV_XID_ERRORS"  # the last XID error code the GPU reported (0: none yet)
TIMESTAMP = "timestamp"  # UTC, end of the interval: the scenario's start + time_s
TIME = "time_s"  # s from the start of the run, end of the interval

UNITS = {
    POWER: "W", GPU_TEMP: "C", MEMORY_TEMP: "C", SM_CLOCK: "MHz", MEM_CLOCK: "MHz", REASONS: "bitmask",
    ENERGY: "mJ", ACTIVE: "ratio", GPU_UTIL: "%", FB_USED: "MiB", FB_FREE: "MiB", XID: "XID code",
    TIME: "s", TIMESTAMP: "UTC",
}

# The XID a work-losing event is reported as (NVIDIA, "Xid Errors" catalogue, docs.nvidia.com/deploy/
# xid-errors/): a die that reaches its shutdown temperature drops off the bus, Xid 79 "GPU has fallen off
# the bus". Component failures carry their own code from the reliability catalogue (failures.yaml `xid`:
# 79 faulty GPU, 95 uncontained ECC error for HBM, 48 double-bit ECC for SRAM, 119 GSP timeout); a node that
# loses power reports none (nothing is left running to report it), so its GPUs keep their last code.
CAUSE_XID = {"thermal_shutdown": 79}
MIB = 2**20


def gpu_uuid(name: str, index: int) -> str:
    """The GPU's UUID label as nvidia-smi writes it (GPU-8-4-4-4-12 hex digits), made up deterministically
    from the scenario name and the GPU's index so every run of a scenario labels its GPUs alike."""
    return f"GPU-{uuid.uuid5(uuid.NAMESPACE_URL, f'gigawatt:{name}/gpu/{index}')}"


def hostname(node: int) -> str:
    """The node's Hostname label."""
    return f"node-{node:05d}"


def pci_bus_id(index: int, gpus_per_node: int = 8) -> str:
    """The GPU's PCI bus id label as DCGM writes it (domain:bus:device.function). Synthetic (an assumption:
    real boards use their own layout): the GPU's slot in its node picks the bus, 0x18 apart from 0x18 up,
    ten buses to a PCI domain, so every slot of a host has its own id however many GPUs the node holds."""
    domain, k = divmod(index % gpus_per_node, 10)
    return f"{domain:08X}:{0x18 * (k + 1):02X}:00.0"


class Recorder:
    """Per-GPU accumulators for one recording interval, flushed to rows at each interval's end."""

    def __init__(
        self,
        n_gpus: int,
        group_size: int,
        level: str,
        gpu_model: str,
        gpus_per_node: int,
        *,
        name: str = "gigawatt",
        start: datetime | None = None,
        memory_clock_mhz: float | None = None,
        fb_total_bytes: float = 0.0,
        fb_used_bytes: np.ndarray | float = 0.0,
        tick_s: float = 1.0,
    ):
        self.group_size = group_size
        self.level = level
        self.gpu_model = gpu_model
        self.gpus_per_node = gpus_per_node
        self.name = name
        self.start = start
        self.tick_s = tick_s
        self.n_groups = n_gpus // group_size
        n = self.n_groups
        # Per-interval constants: the HBM clock and the memory the workload holds (a serving engine
        # allocates its KV pool up front; a training job its weights, optimizer and activations).
        used = np.broadcast_to(np.asarray(fb_used_bytes, dtype=float), (n_gpus,))
        used_g = used.reshape(n, group_size).mean(1)
        self._mem_clock_known = memory_clock_mhz is not None
        self._mem_clock = np.full(n, round(memory_clock_mhz or 0), dtype=np.int64)
        self._fb_used = np.rint(used_g / MIB).astype(np.int64)
        self._fb_free = np.maximum(0, round(fb_total_bytes / MIB) - self._fb_used)
        self._power = np.zeros(n_gpus)
        self._energy = np.zeros(n_gpus)  # J since the start, from the power sums at each flush
        self._clock = np.zeros(n_gpus)
        self._active = np.zeros(n_gpus)
        # Where a tick's clock or activity is one value for every GPU it adds here, not to every element.
        self._clock_all = 0.0
        self._active_all = 0.0
        self._temp = np.full(n_gpus, -np.inf)
        self._memory_temp = np.full(n_gpus, -np.inf)
        self._flags = np.zeros(n_gpus, dtype=np.int64)
        self._xid = np.zeros(n_gpus, dtype=np.int64)  # held: DCGM keeps the last code until the next
        self._ticks = 0
        self._chunks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        power: np.ndarray,
        clock: np.ndarray | float,
        active: np.ndarray | float,
        temp: np.ndarray,
        flags: np.ndarray | None,
        memory_temp: np.ndarray,
        *,
        unchanged: bool = False,
    ) -> None:
        """One tick: clock and activity per GPU or one value for all; flags None where no GPU has any.
        `unchanged`: the temperatures are those of the last call, whose maxima already hold them."""
        self._power += power
        if np.ndim(clock):
            self._clock += clock
        else:
            self._clock_all += clock
        if np.ndim(active):
            self._active += active
        else:
            self._active_all += active
        if not (unchanged and self._ticks):  # a flush since the last call emptied the maxima
            np.maximum(self._temp, temp, out=self._temp)
            np.maximum(self._memory_temp, memory_temp, out=self._memory_temp)
        if flags is not None:
            self._flags |= flags
        self._ticks += 1

    def error(self, gpus: np.ndarray, xid: int | None) -> None:
        """These GPUs reported XID `xid` (None: an event that reports none, which leaves the last code)."""
        if xid is not None:
            self._xid[gpus] = xid

    def flush(self, time_s: float) -> None:
        """Close the interval; the energy counter is the sum of power × `tick_s` since the start."""
        if self._ticks == 0:
            return
        g, n = self.group_size, self.n_groups
        inv = 1.0 / (self._ticks * g)
        self._clock += self._clock_all
        self._active += self._active_all
        self._energy += self._power * self.tick_s
        energy_j = self._energy
        active = self._active.reshape(n, g).sum(1) * inv
        chunk = {
            TIME: np.full(n, time_s),
            POWER: self._power.reshape(n, g).sum(1) * inv,
            GPU_TEMP: np.rint(self._temp.reshape(n, g).max(1)).astype(np.int64),
            MEMORY_TEMP: np.rint(self._memory_temp.reshape(n, g).max(1)).astype(np.int64),
            SM_CLOCK: np.rint(self._clock.reshape(n, g).sum(1) * inv).astype(np.int64),
            MEM_CLOCK: self._mem_clock,
            REASONS: np.bitwise_or.reduce(self._flags.reshape(n, g), axis=1),
            ENERGY: np.rint(energy_j.reshape(n, g).sum(1) * (1e3 / g)).astype(np.int64),
            ACTIVE: active,
            GPU_UTIL: np.rint(100.0 * active).astype(np.int64),
            FB_USED: self._fb_used,
            FB_FREE: self._fb_free,
            # A group shows the highest last code of its GPUs.
            XID: self._xid.reshape(n, g).max(1) if g > 1 else self._xid.copy(),
        }
        for column in chunk.values():
            column.flags.writeable = False  # observers see these rows (Snapshot): read-only
        self._chunks.append(chunk)
        for acc in (self._power, self._clock, self._active, self._flags):
            acc.fill(0)
        self._clock_all = self._active_all = 0.0
        self._temp.fill(-np.inf)
        self._memory_temp.fill(-np.inf)
        self._ticks = 0

    def last(self) -> dict[str, np.ndarray]:
        """The latest interval's row: one array per column, one element per GPU, node or rack."""
        return self._chunks[-1] if self._chunks else {}

    def table(self) -> pa.Table:
        n = self.n_groups
        ids = np.arange(n)
        repeats = len(self._chunks)
        time_s = np.concatenate([c[TIME] for c in self._chunks]) if self._chunks else np.empty(0)
        columns: dict[str, pa.Array] = {}
        start = np.datetime64(self.start.replace(tzinfo=None), "ms") if self.start else np.datetime64(0, "ms")
        stamps = start + np.rint(time_s * 1e3).astype("timedelta64[ms]")
        columns[TIMESTAMP] = pa.array(stamps, pa.timestamp("ms", tz="UTC"))
        columns[TIME] = pa.array(time_s, pa.float64())
        keys = [k for k in self._chunks[0] if k != TIME] if self._chunks else []
        for key in keys:
            columns[key] = pa.array(np.concatenate([c[key] for c in self._chunks]))
        if not self._mem_clock_known and keys:  # blank, as DCGM leaves a field the GPU does not report
            columns[MEM_CLOCK] = pa.nulls(len(time_s), pa.int64())
        label = {"gpu": "gpu", "node": "node", "rack": "rack"}[self.level]
        columns[label] = pa.array(np.tile(ids, repeats))
        if self.level == "gpu":
            index = pa.array(np.tile(ids, repeats).astype(np.int32))
            columns["UUID"] = pa.DictionaryArray.from_arrays(
                index, pa.array([gpu_uuid(self.name, i) for i in range(n)])
            )
            # Per slot: a dictionary of distinct values (one with repeats writes different bytes each run).
            gpn = self.gpus_per_node
            slot = pa.array(np.tile(ids % gpn, repeats).astype(np.int32))
            columns["pci_bus_id"] = pa.DictionaryArray.from_arrays(
                slot, pa.array([pci_bus_id(i, gpn) for i in range(gpn)])
            )
            devices = pa.array([f"nvidia{i}" for i in range(gpn)])
            columns["device"] = pa.DictionaryArray.from_arrays(slot, devices)
            host = np.tile(ids // self.gpus_per_node, repeats)
        elif self.level == "node":
            host = np.tile(ids, repeats)
        else:
            host = None
        if host is not None:
            hosts = int(host.max()) + 1 if len(host) else 1
            columns["Hostname"] = pa.DictionaryArray.from_arrays(
                pa.array(host, pa.int32()), pa.array([hostname(i) for i in range(hosts)])
            )
        columns["modelName"] = pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n * repeats, dtype=np.int32)), pa.array([self.gpu_model])
        )
        fields = [
            pa.field(k, v.type, metadata={"unit": UNITS[k]} if k in UNITS else None)
            for k, v in columns.items()
        ]
        return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields))


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
