"""Where each field of an nvidia-smi CSV log or a dcgm-exporter scrape lands in the twin's telemetry table.

The twin's `timeseries.parquet` (gigawatt.telemetry) names its columns after dcgm-exporter fields; an
external log is mapped onto those columns through the two tables below, one entry per source field, so a
column added to the twin's schema is one line here. Fields in neither table are skipped and listed.
"""

from __future__ import annotations

from typing import NamedTuple

from gigawatt import governor
from gigawatt.telemetry import ACTIVE, ENERGY, GPU_TEMP, POWER, REASONS, SM_CLOCK

# Counters the twin does not record but the power fit reads when a log has them (dcgm-exporter names).
DRAM_ACTIVE = "DCGM_FI_PROF_DRAM_ACTIVE"  # 0-1: fraction of cycles the device-memory interface is busy
MEM_COPY_UTIL = "DCGM_FI_DEV_MEM_COPY_UTIL"  # %: nvidia-smi utilization.memory (memory-controller busy)


class Field(NamedTuple):
    """A source field's twin column, the unit its values carry and the factor into the twin's unit."""

    column: str
    unit: str = ""  # the unit nvidia-smi writes in the header ("[W]") and after values ("312.45 W")
    scale: float = 1.0
    kind: str = "float"  # float | mask (hex reason bitmask) | reason (Active / Not Active)
    bit: int = 0  # for kind "reason": the NVML bit


# nvmlClocksEventReason* bits the governor does not model (nvidia-ml-py); the modelled ones come from it.
GPU_IDLE = 0x1
APPLICATIONS_CLOCKS_SETTING = 0x2
SYNC_BOOST = 0x10
DISPLAY_CLOCK_SETTING = 0x100

_REASON_FIELDS = {
    "gpu_idle": GPU_IDLE,
    "applications_clocks_setting": APPLICATIONS_CLOCKS_SETTING,
    "sw_power_cap": governor.SW_POWER_CAP,
    "hw_slowdown": governor.HW_SLOWDOWN,
    "sync_boost": SYNC_BOOST,
    "sw_thermal_slowdown": governor.SW_THERMAL_SLOWDOWN,
    "hw_thermal_slowdown": governor.HW_THERMAL_SLOWDOWN,
    "hw_power_brake_slowdown": governor.HW_POWER_BRAKE_SLOWDOWN,
    "display_clock_setting": DISPLAY_CLOCK_SETTING,
}
# Drivers before R535 call them clocks_throttle_reasons.*, later ones clocks_event_reasons.*.
REASON_PREFIXES = ("clocks_throttle_reasons.", "clocks_event_reasons.")

# nvidia-smi --query-gpu names (as in the header, without the "[unit]") -> twin column.
NVIDIA_SMI_FIELDS: dict[str, Field] = {
    "power.draw": Field(POWER, "W"),
    "power.draw.average": Field(POWER, "W"),  # R535+: power.draw is the 1 s average as well
    "temperature.gpu": Field(GPU_TEMP),
    "clocks.sm": Field(SM_CLOCK, "MHz"),
    "clocks.current.sm": Field(SM_CLOCK, "MHz"),
    # utilization.gpu: time a kernel ran in the sample period, the coarse form of GR_ENGINE_ACTIVE.
    "utilization.gpu": Field(ACTIVE, "%", 0.01),
    "utilization.memory": Field(MEM_COPY_UTIL, "%"),
    "total_energy_consumption": Field(ENERGY, "mJ"),  # since driver load; made relative to the log's start
    **{p + "active": Field(REASONS, kind="mask") for p in REASON_PREFIXES},
    **{
        p + name: Field(REASONS, kind="reason", bit=bit)
        for p in REASON_PREFIXES
        for name, bit in _REASON_FIELDS.items()
    },
}
# nvidia-smi fields that become labels: the device index on its host, and its identity.
NVIDIA_SMI_LABELS = {"index": "gpu", "uuid": "UUID", "pci.bus_id": "pci_bus_id", "name": "modelName"}
NVIDIA_SMI_TIME = "timestamp"

# dcgm-exporter field -> twin column (the twin's columns carry dcgm-exporter names).
DCGM_FIELDS: dict[str, Field] = {
    POWER: Field(POWER),
    GPU_TEMP: Field(GPU_TEMP),
    SM_CLOCK: Field(SM_CLOCK),
    REASONS: Field(REASONS, kind="mask"),
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": Field(REASONS, kind="mask"),  # its name before DCGM 3.3
    ENERGY: Field(ENERGY),
    ACTIVE: Field(ACTIVE),
    DRAM_ACTIVE: Field(DRAM_ACTIVE),
    MEM_COPY_UTIL: Field(MEM_COPY_UTIL),
}
# dcgm-exporter labels kept as label columns (its own names); the rest (pod, container, ...) are dropped.
DCGM_LABELS = {
    "gpu": "gpu",
    "UUID": "UUID",
    "pci_bus_id": "pci_bus_id",
    "Hostname": "Hostname",
    "modelName": "modelName",
}

# Integer columns; every other metric column is float (NaN where the log had no value).
INTEGER_COLUMNS = frozenset({REASONS})
STRING_LABELS = ("Hostname", "modelName", "UUID", "pci_bus_id")
