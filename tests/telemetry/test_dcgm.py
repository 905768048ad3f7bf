"""timeseries.parquet as dcgm-exporter writes it: the default counters' names (etc/default-counters.csv of
github NVIDIA/dcgm-exporter), DCGM's integer types, units, UTC timestamps, GPU labels and XID codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gigawatt import catalog, telemetry
from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from gigawatt.telemetry import Recorder, gpu_uuid, pci_bus_id
from helpers import scenario

# dcgm-exporter's default counters that a simulated GPU has (PCIe, encoder, NVLink and vGPU ones aside).
DEFAULT_COUNTERS = {
    "DCGM_FI_DEV_SM_CLOCK": "MHz",
    "DCGM_FI_DEV_MEM_CLOCK": "MHz",
    "DCGM_FI_DEV_MEMORY_TEMP": "C",
    "DCGM_FI_DEV_GPU_TEMP": "C",
    "DCGM_FI_DEV_POWER_USAGE": "W",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "mJ",
    "DCGM_FI_DEV_GPU_UTIL": "%",
    "DCGM_FI_DEV_XID_ERRORS": "XID code",
    "DCGM_FI_DEV_FB_FREE": "MiB",
    "DCGM_FI_DEV_FB_USED": "MiB",
}
INTEGER_FIELDS = set(DEFAULT_COUNTERS) - {"DCGM_FI_DEV_POWER_USAGE"} | {"DCGM_FI_DEV_CLOCKS_EVENT_REASONS"}
MIB = 2**20


@pytest.fixture(scope="module")
def balanced() -> tuple[Scenario, pa.Table]:
    sc = scenario("balanced", duration="60 s")
    return sc, Engine(sc).run().timeseries


def test_default_counters_with_dcgm_types_and_units(balanced):
    _, ts = balanced
    for name, unit in DEFAULT_COUNTERS.items():
        assert name in ts.column_names, name
        assert ts.schema.field(name).metadata == {b"unit": unit.encode()}, name
    for name in INTEGER_FIELDS:
        assert ts.schema.field(name).type == pa.int64(), name
    assert ts.schema.field("DCGM_FI_DEV_POWER_USAGE").type == pa.float64()


def test_utc_timestamps_from_the_scenario_start(balanced):
    sc, ts = balanced
    assert ts.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert sc.start == datetime(2026, 7, 1, tzinfo=UTC)  # the default
    stamps = ts.column("timestamp").to_pylist()
    seconds = ts.column("time_s").to_pylist()
    assert [(s - sc.start).total_seconds() for s in stamps] == seconds
    assert stamps[0] == datetime(2026, 7, 1, 0, 0, 10, tzinfo=UTC)  # end of the first 10 s interval


def test_start_is_validated_and_converted_to_utc():
    shifted = Engine(scenario("balanced", duration="20 s", start="2026-07-01T02:00:00+02:00")).run()
    assert shifted.timeseries.column("timestamp")[0].as_py() == datetime(2026, 7, 1, 0, 0, 10, tzinfo=UTC)
    assert scenario(start="2025-01-02 03:04:05").start == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    for bad in ("next tuesday", 1751328000, "2026-13-01T00:00:00Z"):
        with pytest.raises(ValueError, match="start"):
            scenario(start=bad)


def test_labels_are_dcgm_shaped_and_deterministic(balanced):
    sc, ts = balanced
    uuids = ts.column("UUID").to_pylist()
    buses = ts.column("pci_bus_id").to_pylist()
    gpus = ts.column("gpu").to_pylist()
    for g, u, b in zip(gpus, uuids, buses, strict=True):
        assert re.fullmatch(r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", u)
        assert re.fullmatch(r"[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]", b)
        assert u == gpu_uuid(sc.name, g) and b == pci_bus_id(g, sc.cluster.gpus_per_node)
    assert len(set(uuids)) == sc.cluster.gpus  # one UUID per GPU
    assert len(set(buses)) == sc.cluster.gpus_per_node  # each node's GPUs on distinct buses
    assert gpu_uuid("other", 0) != gpu_uuid(sc.name, 0)
    assert ts.column("Hostname").to_pylist()[:9] == ["node-00000"] * 8 + ["node-00001"]


def test_memory_clock_utilisation_and_framebuffer(balanced):
    sc, ts = balanced
    gpu = catalog.gpu(sc.cluster.gpu)
    assert set(ts.column("DCGM_FI_DEV_MEM_CLOCK").to_pylist()) == {2619}  # H100 SXM HBM3 (nvidia-smi -q)
    active = ts.column("DCGM_FI_PROF_GR_ENGINE_ACTIVE").to_numpy()
    assert np.array_equal(ts.column("DCGM_FI_DEV_GPU_UTIL").to_numpy(), np.rint(100 * active))
    used = ts.column("DCGM_FI_DEV_FB_USED").to_numpy()
    free = ts.column("DCGM_FI_DEV_FB_FREE").to_numpy()
    assert np.all(used + free == round(gpu.hbm_capacity / MIB))
    # Llama-3.1-70B in bf16 over TP4: ~35 GB of weights per GPU, plus the batch's KV cache.
    assert np.all(used > 35e9 / MIB) and np.all(used < gpu.hbm_capacity / MIB)


def test_xid_is_the_last_code_of_a_thermal_shutdown():
    """A die at its shutdown temperature falls off the bus: Xid 79, held in later intervals (a gauge of
    the last code, not a count); GPUs that never shut down read 0."""
    starved = {"cooling.liquid.cdu.capacity": "3 kW", "cooling.liquid.cdu.loop_heat_capacity": "50 kJ/K"}
    sc = scenario("cooling-starved", duration="6 min", **starved)
    result = Engine(sc).run()
    ts, events = result.timeseries, result.events.table()
    shutdowns = events.filter(pc.equal(events.column("kind"), "thermal_shutdown")).to_pylist()
    assert len(shutdowns) >= 2
    first = {}
    for e in shutdowns:
        first.setdefault(e["index"], e["time_s"])
    xid = ts.column("DCGM_FI_DEV_XID_ERRORS").to_numpy()
    gpu = ts.column("gpu").to_numpy()
    t = ts.column("time_s").to_numpy()
    assert set(np.unique(xid)) == {0, 79}
    for g in range(sc.cluster.gpus):
        mine, when = xid[gpu == g], t[gpu == g]
        if g in first:
            assert np.all(mine[when >= first[g] + 10] == 79) and np.all(mine[when < first[g]] == 0)
        else:
            assert np.all(mine == 0)


def test_recorder_keeps_the_last_code_and_groups_show_the_highest():
    rec = Recorder(16, 8, "node", "H100-SXM", 8, memory_clock_mhz=None)
    ones = np.ones(16)
    rec.add(ones, ones, ones, ones, np.zeros(16, dtype=np.int64), ones)
    rec.error(np.array([3]), 95)  # HBM: uncontained ECC error
    rec.error(np.array([3]), 79)  # then off the bus: the last code wins
    rec.error(np.array([9]), None)  # an event with no Xid leaves the code as it was
    rec.flush(1.0)
    table = rec.table()
    assert table.column(telemetry.XID).to_pylist() == [79, 0]
    assert table.column(telemetry.MEM_CLOCK).null_count == 2  # no catalogued HBM clock: blank, as DCGM
    assert "UUID" not in table.column_names  # node rows have no one GPU to name


def test_timeseries_file_is_the_same_bytes_run_after_run(tmp_path):
    """Same scenario, same seed: timeseries.parquet byte for byte (label dictionaries hold distinct values;
    one with repeats compressed differently from run to run)."""
    from gigawatt.api import simulate

    sc = scenario("balanced", duration="30 s")
    runs = [simulate(sc, out=tmp_path / f"run{i}", inputs=[]) for i in (1, 2, 3)]
    files = [run.folder / "timeseries.parquet" for run in runs]
    assert files[0].read_bytes() == files[1].read_bytes() == files[2].read_bytes()
