"""Chart-ready series from the engine's tables: fleet quantiles, facility columns and fault marks."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gigawatt.governor import REASON_NAMES
from gigawatt.report.aggregate import (
    Reduction,
    quantiles_by_bucket,
    reduce_by_bucket,
    share_with_bit,
    time_buckets,
)

POWER = "DCGM_FI_DEV_POWER_USAGE"
GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP"
SM_CLOCK = "DCGM_FI_DEV_SM_CLOCK"
REASONS = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"

# The tail that matters differs: hot dies for temperature, slow clocks for throttling.
TEMP_QUANTILES = {"max": 1.0, "p95": 0.95, "median": 0.5, "min": 0.0}
CLOCK_QUANTILES = {"max": 1.0, "median": 0.5, "p5": 0.05, "min": 0.0}

SUPPLY_COLUMN = re.compile(r"^(cdu|zone)(\d+)_supply_c$")
MAX_SUPPLY_TRACES = 4  # per kind; above this draw the mean and hottest unit instead

# Facility columns where a peak inside a merged bucket matters more than its average.
PEAK_COLUMNS = ("rack_power_max_kw", "gpu_temp_max_c", "gpus_down", "backlog_tokens")

# Events that are routine (throttling) or the end of a fault, not faults worth a marker of their own.
ROUTINE_EVENTS = ("throttle_start", "throttle_stop", "recovered")
FAULT_CATEGORIES = {
    "thermal_shutdown": "GPU shutdowns / resets",
    "node_reset": "GPU shutdowns / resets",
    "feed_loss": "Power supply events",
    "sag": "Power supply events",
    "sag_ride_through": "Power supply events",
    "pump_failure": "Cooling events",
    "capacity_loss": "Cooling events",
    "supply_temperature_rise": "Cooling events",
}
OTHER_CATEGORY = "Other events"
CATEGORY_ORDER = ("GPU shutdowns / resets", "Power supply events", "Cooling events", OTHER_CATEGORY)
MAX_FAULT_BINS = 200  # markers per category; faults closer than duration/200 share one


@dataclass(frozen=True)
class FleetSeries:
    """Per-bucket statistics across GPUs (or nodes/racks, whichever the telemetry was recorded at)."""

    unit: str
    time_s: np.ndarray
    temp_c: dict[str, np.ndarray]
    clock_mhz: dict[str, np.ndarray]
    reason_share: dict[str, np.ndarray]  # only reasons that were ever active


@dataclass(frozen=True)
class FaultMarks:
    """Fault events of one category, binned in time, with a hover label per bin and kind."""

    category: str
    time_s: np.ndarray
    labels: list[str]


def telemetry_unit(timeseries: pa.Table) -> str:
    """What one telemetry row describes, for axis labels: the engine records per GPU, node or rack."""
    labels = {"gpu": "GPU", "node": "node", "rack": "rack"}
    return next((label for column, label in labels.items() if column in timeseries.column_names), "GPU")


def _column(table: pa.Table, name: str) -> np.ndarray:
    if table.num_rows == 0 and name not in table.column_names:
        return np.empty(0)  # a run too short to record an interval has only a time_s column
    return table.column(name).to_numpy(zero_copy_only=False)


def fleet_series(timeseries: pa.Table) -> FleetSeries:
    buckets = time_buckets(_column(timeseries, "time_s"))
    clock = _column(timeseries, SM_CLOCK)
    flags = _column(timeseries, REASONS)
    temp_q = quantiles_by_bucket(buckets, _column(timeseries, GPU_TEMP), tuple(TEMP_QUANTILES.values()))
    clock_q = quantiles_by_bucket(buckets, clock, tuple(CLOCK_QUANTILES.values()))
    active_bits = np.bitwise_or.reduce(flags) if len(flags) else 0
    return FleetSeries(
        unit=telemetry_unit(timeseries),
        time_s=buckets.time_s,
        temp_c={name: temp_q[q] for name, q in TEMP_QUANTILES.items()},
        clock_mhz={"mean": reduce_by_bucket(buckets, clock, "mean")}
        | {name: clock_q[q] for name, q in CLOCK_QUANTILES.items()},
        reason_share={name: share_with_bit(buckets, flags, bit)
                      for bit, name in REASON_NAMES.items() if active_bits & bit},
    )


def facility_series(facility: pa.Table) -> dict[str, np.ndarray]:
    """Every facility column per bucket: peaks kept for peak-like columns, the budget at its tightest."""
    buckets = time_buckets(_column(facility, "time_s"))
    out = {"time_s": buckets.time_s}
    for name in facility.column_names:
        if name == "time_s":
            continue
        out[name] = reduce_by_bucket(buckets, _column(facility, name), _facility_reduction(name))
    return out


def _facility_reduction(name: str) -> Reduction:
    if name == "rack_budget_kw":
        return "min"
    return "max" if name in PEAK_COLUMNS or SUPPLY_COLUMN.match(name) else "mean"


def supply_series(facility: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Coolant and air supply temperatures: one line per unit for a few units, else mean and hottest."""
    out: dict[str, np.ndarray] = {}
    units = [(m.group(1), m.group(2), name) for name in facility if (m := SUPPLY_COLUMN.match(name))]
    for kind, label in (("cdu", "CDU coolant supply"), ("zone", "air supply")):
        columns = {index: facility[name] for unit_kind, index, name in units if unit_kind == kind}
        if len(columns) <= MAX_SUPPLY_TRACES:
            out |= {f"{label} {index}": values for index, values in columns.items()}
        else:
            stacked = np.vstack(list(columns.values()))
            out[f"{label} (mean of {len(columns)})"] = stacked.mean(axis=0)
            out[f"{label} (hottest of {len(columns)})"] = stacked.max(axis=0)
    return out


def fault_marks(events: pa.Table, duration_s: float) -> list[FaultMarks]:
    """Non-routine events grouped by category, binned so that bursts of thousands draw as one marker."""
    faults = events.filter(pc.invert(pc.is_in(events.column("kind"), pa.array(ROUTINE_EVENTS))))
    faults = faults.take(pc.sort_indices(faults, [("time_s", "ascending")]))
    if faults.num_rows == 0:
        return []
    time_s = _column(faults, "time_s")
    kind_names, kind_codes = np.unique(_column(faults, "kind").astype(str), return_inverse=True)
    bins = np.clip((time_s / max(duration_s, 1e-9) * MAX_FAULT_BINS).astype(np.int64), 0, MAX_FAULT_BINS - 1)
    groups, first, counts = np.unique(bins * len(kind_names) + kind_codes, return_index=True,
                                      return_counts=True)
    kinds = kind_names[groups % len(kind_names)]
    details = _column(faults, "detail").astype(str)[first]
    labels = np.array([_fault_label(k, n, d) for k, n, d in zip(kinds, counts, details, strict=True)])
    categories = np.array([_fault_category(k) for k in kinds])
    return [FaultMarks(c, time_s[first][categories == c], labels[categories == c].tolist())
            for c in CATEGORY_ORDER if (categories == c).any()]


def _fault_category(kind: str) -> str:
    return FAULT_CATEGORIES.get(kind.removesuffix("_end"), OTHER_CATEGORY)


def _fault_label(kind: str, count: int, detail: str) -> str:
    label = f"{kind} ×{count}" if count > 1 else kind
    return f"{label}: {detail}" if detail else label
