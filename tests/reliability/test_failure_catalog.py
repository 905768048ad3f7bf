"""The failure catalog: sourced numbers, Llama 3 counts reproduced, overrides."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gigawatt.catalog import CatalogError, _load
from gigawatt.reliability.components import basis_factor, catalog_components, exposure_hours, with_overrides
from gigawatt.reliability.config import ComponentOverride
from gigawatt.reliability.sdc import default_detectors

LLAMA3_TABLE5 = {
    "faulty_gpu": 148,
    "hbm": 72,
    "software": 54,
    "network": 35,
    "host_maintenance": 32,
    "sram": 19,
    "gsp": 17,
    "nic": 7,
    "nccl_watchdog": 7,
    "sdc": 6,
    "thermal_interface": 6,
    "ssd": 3,
    "psu": 3,
    "chassis": 2,
    "io_board": 2,
    "dependency": 2,
    "cpu": 2,
    "system_memory": 2,
}


def _values(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "value" in node:
            return [(path, node)]
        return [item for key, child in node.items() for item in _values(child, f"{path}.{key}")]
    return []


def test_every_value_carries_a_source():
    entries = _values(_load("failures.yaml"))
    assert len(entries) > 120
    for path, entry in entries:
        assert isinstance(entry.get("source"), str) and len(entry["source"]) > 10, path


def test_counts_are_llama3_table5_and_sum_to_419():
    counts = {c.name: c.count for c in catalog_components()}
    assert counts == LLAMA3_TABLE5
    assert sum(counts.values()) == 419


def test_rates_reproduce_the_counts_over_the_54_day_exposure():
    hours = exposure_hours()
    assert hours["gpu"] == pytest.approx(16384 * 54 * 24)
    assert hours["node"] == pytest.approx(2048 * 54 * 24)
    share = default_detectors().detected_share
    for c in catalog_components():
        expected = c.rate_per_unit_s * hours[c.unit] * 3600.0 * (share if c.name == "sdc" else 1.0)
        assert expected == pytest.approx(c.count), c.name


def test_temperature_driven_components_have_an_activation_energy_and_xids_are_nvidia_codes():
    for c in catalog_components():
        assert (c.activation_energy_ev > 0) == (c.temperature != "none"), c.name
        assert c.takes_node == (c.repair_median_s is not None), c.name
    xids = {c.name: c.xid for c in catalog_components()}
    assert xids["faulty_gpu"] == 79 and xids["hbm"] == 95 and xids["sram"] == 48 and xids["gsp"] == 119


def test_overrides_scale_replace_and_disable():
    base = {c.name: c for c in catalog_components()}
    out = {
        c.name: c
        for c in with_overrides(
            {
                "hbm": ComponentOverride(rate_multiplier=2.0, activation_energy=0.4),
                "psu": ComponentOverride(mtbf="100000 h"),
                "software": ComponentOverride(enabled=False),
                "network": ComponentOverride(detection="30 s"),
            }
        )
    }
    assert "software" not in out and len(out) == len(base) - 1
    assert out["hbm"].rate_per_unit_s == pytest.approx(2.0 * base["hbm"].rate_per_unit_s)
    assert out["hbm"].activation_energy_ev == 0.4
    assert out["psu"].rate_per_unit_s == pytest.approx(1.0 / (100000 * 3600))
    assert out["network"].detection_s == 30.0 and base["network"].detection_s == 600.0
    assert math.isclose(out["faulty_gpu"].rate_per_unit_s, base["faulty_gpu"].rate_per_unit_s)


def test_overrides_name_unknown_components_and_refuse_a_repair_for_restarts_in_place():
    with pytest.raises(CatalogError, match="did you mean faulty_gpu"):
        with_overrides({"faulty_gpus": ComponentOverride()})
    with pytest.raises(CatalogError, match="no repair time"):
        with_overrides({"software": ComponentOverride(repair="1 h")})


def test_meta_rate_bases_scale_every_rate_to_the_research_clusters_node_failure_rate():
    llama3_per_node_day = 419 / (2048 * 54)
    for basis, r_f in (("meta_rsc1", 6.50), ("meta_rsc2", 2.34)):
        assert basis_factor(basis) == pytest.approx(r_f / 1000 / llama3_per_node_day)
        scaled = {c.name: c for c in with_overrides(rate_basis=basis)}
        for c in catalog_components():
            assert scaled[c.name].rate_per_unit_s == pytest.approx(c.rate_per_unit_s * basis_factor(basis))
    fixed = {c.name: c for c in with_overrides({"psu": ComponentOverride(mtbf="1000 h")}, "meta_rsc1")}
    assert fixed["psu"].rate_per_unit_s == pytest.approx(1 / 3.6e6)  # an absolute rate ignores the basis
    with pytest.raises(CatalogError, match="unknown rate basis"):
        basis_factor("rsc3")
