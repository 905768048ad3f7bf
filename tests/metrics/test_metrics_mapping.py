"""Snapshot → Prometheus families: dcgm-exporter's names, types and labels; aggregates past the limit."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("prometheus_client", reason="live metrics need prometheus-client: pip install .[metrics]")

from gigawatt.governor import HW_SLOWDOWN, HW_THERMAL_SLOWDOWN, SW_POWER_CAP
from gigawatt.metrics.labels import LABEL_NAMES, gpu_labels, gpu_uuid, pci_bus_id
from gigawatt.metrics.mapping import Layout, families, render
from gigawatt.telemetry import Snapshot
from prom_text import parse_exposition

ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"


def _snapshot(memory_temp: bool = False) -> Snapshot:
    """Four GPUs on two nodes, as the recorder writes a per-GPU row."""
    gpus = {
        "time_s": np.full(4, 30.0),
        "DCGM_FI_DEV_POWER_USAGE": np.array([100.0, 300.0, 500.0, 700.0]),
        "DCGM_FI_DEV_GPU_TEMP": np.array([40.0, 50.0, 60.0, 90.0]),
        "DCGM_FI_DEV_SM_CLOCK": np.array([1980.0, 1980.0, 1500.0, 990.0]),
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": np.array(
            [0, SW_POWER_CAP, SW_POWER_CAP, HW_THERMAL_SLOWDOWN | HW_SLOWDOWN]
        ),
        ENERGY: np.array([3e6, 9e6, 15e6, 21e6]),
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": np.array([0.0, 0.5, 1.0, 1.0]),
        "DCGM_FI_DEV_XID_ERRORS": np.array([0, 0, 79, 48]),
    }
    if memory_temp:
        gpus["DCGM_FI_DEV_MEMORY_TEMP"] = np.array([45.0, 55.0, 65.0, 95.0])
    facility = {
        "time_s": 30.0,
        "facility_power_kw": 2.5,
        "it_power_kw": 2.0,
        "pue": 1.25,
        "output_tokens_per_s": 900.0,
        "rack_budget_kw": float("nan"),
        "cdu0_supply_c": 34.0,
        "zone0_supply_c": 24.5,
        "zone1_supply_c": 25.0,
        "hall0_power_kw": 1.2,
        "hall1_power_kw": 0.8,
        "hall1_water_rise_c": 0.5,
    }
    return Snapshot(30.0, gpus, facility)


def _layout(max_gpu_series: int = 1024, level: str = "gpu") -> Layout:
    return Layout("hall-a", "H100-SXM", 4, 2, 2, level, max_gpu_series, "base")


def _parsed(snap: Snapshot, layout: Layout) -> dict[str, tuple[str, list]]:
    return parse_exposition(render(families(snap, layout)).decode())


def test_per_gpu_series_carry_dcgm_exporter_names_types_and_labels():
    got = _parsed(_snapshot(), _layout())
    typ, power = got["DCGM_FI_DEV_POWER_USAGE"]
    assert typ == "gauge"
    assert [v for _, v in power] == [100.0, 300.0, 500.0, 700.0]
    for labels, _ in power:
        assert set(labels) == set(LABEL_NAMES)
    assert [lb["gpu"] for lb, _ in power] == ["0", "1", "0", "1"]  # the index on its host, as on a real node
    assert [lb["Hostname"] for lb, _ in power] == ["node-00000", "node-00000", "node-00001", "node-00001"]
    assert len({lb["UUID"] for lb, _ in power}) == 4
    # The energy counter keeps dcgm-exporter's name, no `_total`, and its mJ.
    assert got[ENERGY][0] == "counter"
    assert [v for _, v in got[ENERGY][1]] == [3e6, 9e6, 15e6, 21e6]
    assert not any(name.endswith("_total") for name in got)
    assert "DCGM_FI_DEV_MEMORY_TEMP" not in got  # not modelled: left out, not zero


def test_memory_temperature_is_exported_when_the_engine_records_it():
    got = _parsed(_snapshot(memory_temp=True), _layout())
    assert [v for _, v in got["DCGM_FI_DEV_MEMORY_TEMP"][1]] == [45.0, 55.0, 65.0, 95.0]


def test_facility_row_becomes_base_unit_gauges():
    got = _parsed(_snapshot(), _layout())
    assert got["gigawatt_sim_time_seconds"][1][0][1] == 30.0
    assert got["gigawatt_facility_power_watts"][1][0][1] == pytest.approx(2500.0)
    assert got["gigawatt_it_power_watts"][1][0][1] == pytest.approx(2000.0)
    assert got["gigawatt_pue"][1][0][1] == 1.25
    assert got["gigawatt_output_tokens_per_second"][1][0][1] == 900.0
    assert "gigawatt_rack_budget_watts" not in got  # no budget (NaN): no series
    assert got["gigawatt_cdu_supply_celsius"][1] == [({"cdu": "0"}, 34.0)]
    assert got["gigawatt_zone_supply_celsius"][1] == [({"zone": "0"}, 24.5), ({"zone": "1"}, 25.0)]
    # One labelled family per quantity of the halls, in base units.
    assert got["gigawatt_hall_power_watts"][1] == [({"hall": "0"}, 1200.0), ({"hall": "1"}, 800.0)]
    assert got["gigawatt_hall_water_rise_celsius"][1] == [({"hall": "1"}, 0.5)]
    assert not any(name.startswith("gigawatt_hall0") for name in got)
    shares = {lb["reason"]: v for lb, v in got["gigawatt_throttle_fraction"][1]}
    assert shares["SwPowerCap"] == 0.5
    assert shares["HwThermalSlowdown"] == 0.25
    assert shares["SwThermalSlowdown"] == 0.0


def test_past_the_series_limit_gpus_aggregate_per_node():
    got = _parsed(_snapshot(), _layout(max_gpu_series=3))
    assert "DCGM_FI_DEV_POWER_USAGE" not in got
    power = got["gigawatt_node_gpu_power_watts"][1]
    assert [(lb["Hostname"], v) for lb, v in power] == [("node-00000", 200.0), ("node-00001", 600.0)]
    assert [v for _, v in got["gigawatt_node_gpu_temp_max_celsius"][1]] == [50.0, 90.0]
    reasons = [int(v) for _, v in got["gigawatt_node_clocks_event_reasons"][1]]
    assert reasons == [SW_POWER_CAP, SW_POWER_CAP | HW_THERMAL_SLOWDOWN | HW_SLOWDOWN]
    assert [v for _, v in got["gigawatt_node_xid_last"][1]] == [0.0, 79.0]  # the highest last code
    assert got["gigawatt_node_gpu_energy_millijoules"][0] == "counter"


def test_rack_recording_exports_per_rack():
    snap = _snapshot()
    rack_row = {k: v[:1] for k, v in snap.gpus.items()}  # the recorder's one rack row
    got = _parsed(Snapshot(30.0, rack_row, snap.facility), _layout(level="rack"))
    assert got["gigawatt_rack_gpu_power_watts"][1] == [({"rack": "0", "modelName": "H100-SXM"}, 100.0)]


def test_labels_are_stable_and_distinct():
    assert gpu_uuid("hall-a", 3) == gpu_uuid("hall-a", 3)
    assert gpu_uuid("hall-a", 3) != gpu_uuid("hall-b", 3)
    version5 = r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(version5, gpu_uuid("x", 0))
    buses = [pci_bus_id(i, 300) for i in range(300)]  # one bus per slot however many slots a host has
    assert len(set(buses)) == 300
    assert all(re.fullmatch(r"[0-9A-F]{8}:[0-9A-F]{2}:00\.0", b) for b in buses)
    assert pci_bus_id(3, 8) == pci_bus_id(11, 8) == "00000000:60:00.0"
    labels = gpu_labels("x", "H100-SXM", 16, 8)
    assert len({lb[1] for lb in labels}) == 16  # UUIDs unique across the cluster
    assert labels[0][5] == labels[8][5]  # same bus id at the same slot of another host
