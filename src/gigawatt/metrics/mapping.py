"""A snapshot (one recording interval) → Prometheus metric families, and their text exposition.

Per GPU: dcgm-exporter's names, types, help and labels (its etc/default-counters.csv and
dcp-metrics-included.csv), as long as the run records per GPU and has at most `max_gpu_series` GPUs.
Beyond that (or recording per node or rack) the same fields come per node or rack as `gigawatt_node_*` /
`gigawatt_rack_*`, with the recorder's per-GPU semantics (mean power, clock and activity of the group's
GPUs, hottest die, OR of reasons, mean energy per GPU, highest last XID code). Facility rows become
`gigawatt_*` gauges named after their columns, in base units (W, °C, s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from prometheus_client.core import Metric

from gigawatt import catalog
from gigawatt.governor import REASON_NAMES
from gigawatt.metrics.labels import LABEL_NAMES, gpu_labels, hostname
from gigawatt.scenario import Scenario
from gigawatt.telemetry import Snapshot

# (recorder column = dcgm-exporter name, type, dcgm-exporter's help, aggregate suffix, how a group aggregates)
GPU_FIELDS = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", "sm_clock_mhz", "mean"),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", "memory_temp_max_celsius", "max"),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", "gpu_temp_max_celsius", "max"),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", "gpu_power_watts", "mean"),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
        "gpu_energy_millijoules",
        "mean",
    ),
    (
        # The recorder's column already holds each GPU's last code (telemetry.CAUSE_XID, failures.yaml);
        # a node or rack shows the highest, as timeseries.parquet does.
        "DCGM_FI_DEV_XID_ERRORS",
        "gauge",
        "Value of the last XID error encountered.",
        "xid_last",
        "max",
    ),
    (
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
        "gauge",
        "Clock event reasons (bitmask, OR over the recording interval).",
        "clocks_event_reasons",
        "or",
    ),
    (
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "gauge",
        "Ratio of time the graphics engine is active.",
        "gr_engine_active",
        "mean",
    ),
)
REASONS = "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"
# Columns of one unit among many (cdu3_supply_c, hall2_power_kw): one labelled family per quantity.
_UNIT = re.compile(r"^(cdu|zone|hall)(\d+)_(\w+)$")
_UNIT_HELP = {
    ("cdu", "supply_c"): "CDU loop supply temperature (C), end of the interval.",
    ("zone", "supply_c"): "Zone supply air temperature (C), end of the interval.",
    ("hall", "power_kw"): "Hall IT power (W), interval mean.",
    ("hall", "water_rise_c"): "Rise of the hall's facility water over its supply, from heat beyond the "
    "hall's heat rejection (C), end of the interval.",
}
_SUFFIXES = (("_kw", "_watts", 1e3), ("_c", "_celsius", 1.0), ("_per_s", "_per_second", 1.0))


@dataclass
class Layout:
    """What a run's labels depend on, fixed for the run."""

    scenario: str
    gpu_model: str
    n_gpus: int
    gpus_per_node: int
    nodes_per_rack: int
    level: str  # the recording level: gpu, node or rack
    max_gpu_series: int = 1024
    variant: str = ""
    _labels: list[dict[str, str]] | None = field(default=None, repr=False)

    @property
    def per_gpu(self) -> bool:
        return self.level == "gpu" and self.n_gpus <= self.max_gpu_series

    @property
    def group(self) -> str:
        """The unit of the aggregate series: node, unless the run records per rack."""
        return "rack" if self.level == "rack" else "node"

    def gpu_labels(self) -> list[dict[str, str]]:
        """Every GPU's labels, built once: every family shares them (and `render` formats each once)."""
        if self._labels is None:
            labels = gpu_labels(self.scenario, self.gpu_model, self.n_gpus, self.gpus_per_node)
            self._labels = [dict(zip(LABEL_NAMES, lv, strict=True)) for lv in labels]
        return self._labels


def _aggregate(values: np.ndarray, size: int, how: str) -> np.ndarray:
    rows = values.reshape(-1, size)
    if how == "mean":
        return rows.mean(1)
    if how == "max":
        return rows.max(1)
    return np.bitwise_or.reduce(rows, axis=1)


def gpu_families(snap: Snapshot, layout: Layout) -> list[Metric]:
    """Per-GPU families (dcgm-exporter's), or per node / rack aggregates."""
    row, out = snap.gpus, []
    if layout.per_gpu:
        labels = layout.gpu_labels()
        for name, typ, doc, _, _ in GPU_FIELDS:
            if name not in row:  # fields an engine does not model (memory temperature) are left out
                continue
            m = Metric(name, doc, typ)
            for lv, v in zip(labels, row[name].tolist(), strict=True):
                m.add_sample(name, lv, v)
            out.append(m)
        return out
    unit = layout.group
    size = {"gpu": layout.gpus_per_node, "node": 1, "rack": 1}[layout.level]
    labels: list[dict[str, str]] = []  # one node's or rack's, shared by its families
    for name, typ, doc, suffix, how in GPU_FIELDS:
        if name not in row:
            continue
        values = row[name] if size == 1 else _aggregate(row[name], size, how)
        if len(labels) != len(values):
            labels = [
                {"Hostname": hostname(i)} if unit == "node" else {"rack": str(i)} for i in range(len(values))
            ]
            for lv in labels:
                lv["modelName"] = layout.gpu_model
        mname = f"gigawatt_{unit}_{suffix}"
        m = Metric(mname, f"{doc} Per {unit}: {how} over its GPUs.", typ)
        for lv, v in zip(labels, values.tolist(), strict=True):
            m.add_sample(mname, lv, v)
        out.append(m)
    return out


def facility_families(snap: Snapshot, layout: Layout) -> list[Metric]:
    """The facility row as `gigawatt_` gauges, plus throttle shares and the run's identity."""
    out = []
    info = Metric("gigawatt_run_info", "The run being simulated (always 1).", "gauge")
    info.add_sample(
        "gigawatt_run_info",
        {"scenario": layout.scenario, "variant": layout.variant, "modelName": layout.gpu_model},
        1.0,
    )
    out.append(info)
    units: dict[str, Metric] = {}
    for key, value in snap.facility.items():
        if value is None or not math.isfinite(value):
            continue  # no rack budget, no site plant
        unit = _UNIT.match(key)
        if unit:
            kind, idx, quantity = unit.groups()
            name, _ = _facility_name(f"{kind}_{quantity}")
            scale = next((s for old, _, s in _SUFFIXES if quantity.endswith(old)), 1.0)
            if name not in units:
                doc = _UNIT_HELP.get((kind, quantity), f"Per-{kind} column {kind}<i>_{quantity}, base units.")
                units[name] = Metric(name, doc, "gauge")
            units[name].add_sample(name, {kind: idx}, float(value) * scale)
            continue
        name, doc = _facility_name(key)
        scale = next((s for old, _, s in _SUFFIXES if key.endswith(old)), 1.0)
        m = Metric(name, doc, "gauge")
        m.add_sample(name, {}, float(value) * scale)
        out.append(m)
    out.extend(units.values())
    n = layout.n_gpus
    gpus = Metric("gigawatt_gpus", "GPUs in the cluster.", "gauge")
    gpus.add_sample("gigawatt_gpus", {}, float(n))
    out.append(gpus)
    if REASONS in snap.gpus:
        reasons = np.asarray(snap.gpus[REASONS])
        share = Metric(
            "gigawatt_throttle_fraction",
            f"Share of {'GPUs' if layout.level == 'gpu' else layout.level + 's (the recording level)'} "
            "whose clock event reasons held this reason during the interval.",
            "gauge",
        )
        for bit, reason in REASON_NAMES.items():
            share.add_sample(
                "gigawatt_throttle_fraction", {"reason": reason}, float(np.mean((reasons & bit) != 0))
            )
        out.append(share)
    return out


_HELP = {
    "facility_power_kw": "Facility power: IT through the UPS, plus cooling (W), interval mean.",
    "it_power_kw": "IT power into the racks (node PSUs or HVDC bus) (W), interval mean.",
    "gpu_power_kw": "Power of all GPUs (W), interval mean.",
    "cooling_power_kw": "Cooling power: plant, CDU pumps, CRAH fans (W), interval mean.",
    "rack_power_max_kw": "Highest rack power in the interval (W).",
    "rack_budget_kw": "Smallest rack power budget (W).",
    "pue": "Power usage effectiveness: facility / IT energy over the interval.",
    "output_tokens_per_s": "Tokens served per second, interval mean.",
    "demand_tokens_per_s": "Tokens demanded per second, interval mean.",
    "backlog_tokens": "Tokens waiting at the end of the interval.",
    "gpu_temp_max_c": "Hottest die at the end of the interval (C).",
    "gpus_down": "GPUs down (shut down, failed or reset) at the end of the interval.",
}


def _facility_name(key: str) -> tuple[str, str]:
    """A facility column's metric name in base units (column `x_kw` → `gigawatt_x_watts`), and its help."""
    if key == "time_s":
        return "gigawatt_sim_time_seconds", "Simulated time at the end of the latest recording interval (s)."
    doc = _HELP.get(key, f"Facility column {key} (results' facility.parquet), in base units.")
    for old, new, _ in _SUFFIXES:
        if key.endswith(old):
            return f"gigawatt_{key[: -len(old)]}{new}", doc
    return f"gigawatt_{key}", doc


def families(snap: Snapshot, layout: Layout) -> list[Metric]:
    return facility_families(snap, layout) + gpu_families(snap, layout)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v: float) -> str:
    if math.isfinite(v):
        return repr(float(v))
    return "NaN" if math.isnan(v) else "+Inf" if v > 0 else "-Inf"


def render(metrics: Iterable[Metric]) -> bytes:
    """Prometheus text format 0.0.4, with sample names as given: a counter keeps dcgm-exporter's name
    (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION) where prometheus-client's own exposition would add `_total`."""
    lines = []
    formatted: dict[int, str] = {}  # label sets shared between families (a GPU's) are formatted once
    for m in metrics:
        lines.append(f"# HELP {m.name} {m.documentation.replace(chr(92), chr(92) * 2)}")
        lines.append(f"# TYPE {m.name} {m.type}")
        for s in m.samples:
            if not s.labels:
                lines.append(f"{s.name} {_number(s.value)}")
                continue
            labels = formatted.get(id(s.labels))
            if labels is None:
                labels = formatted[id(s.labels)] = ",".join(
                    f'{k}="{_escape(v)}"' for k, v in s.labels.items()
                )
            lines.append(f"{s.name}{{{labels}}} {_number(s.value)}")
    lines.append("")
    return "\n".join(lines).encode()


def layout_for(sc: Scenario, variant: str = "", max_gpu_series: int = 1024) -> Layout:
    cl = sc.cluster
    return Layout(
        sc.name,
        catalog.gpu(cl.gpu).name,
        cl.gpus,
        cl.gpus_per_node,
        cl.nodes_per_rack,
        sc.recording.level,
        max_gpu_series,
        variant,
    )
