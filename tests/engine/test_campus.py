"""The gigawatt campus (examples/campus-1gw.yaml): it validates, a simulated day at its recording level fits
the memory limit, and a few racks of it run with the site feed named in the chain."""

from __future__ import annotations

import re

import pytest

from gigawatt import limits
from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from gigawatt.summary import summarize
from helpers import example_dict, with_changes


def test_campus_is_about_a_gigawatt_and_a_day_fits_in_8_gb():
    sc = Scenario.model_validate(example_dict("campus-1gw"))
    assert sc.cluster.gpus == 1_048_576 and sc.power.site_budget == pytest.approx(1.2e9)
    assert sc.cluster.halls == 64 and sc.cluster.gpus // sc.cluster.halls == 16_384
    # Each hall's budget and heat rejection cover its share of the feed's IT load; the feed covers them all.
    assert sc.power.hall_budget is not None and sc.cooling.hall_heat_rejection is not None
    assert sc.power.hall_budget <= sc.cooling.hall_heat_rejection
    assert 64 * sc.power.hall_budget < sc.power.site_budget
    day = Scenario.model_validate(with_changes(example_dict("campus-1gw"), duration="24 h"))
    est = limits.estimate(day)
    assert est.rows <= day.recording.max_rows
    assert est.memory_bytes < 8e9


def test_campus_rows_per_gpu_are_refused():
    with pytest.raises(ValueError, match="record at level node or rack"):
        Scenario.model_validate(
            with_changes(example_dict("campus-1gw"), duration="24 h", **{"recording.level": "gpu"})
        )


def test_a_few_racks_of_the_campus_run_against_the_site_feed():
    """64 racks (4 CDUs, one air zone, one hall) for two minutes: the feed is scaled with them, so the chain
    names the site's peak against it and the peak scales with the GPUs to within the per-GPU draw of the full
    campus."""
    small = with_changes(
        example_dict("campus-1gw"),
        duration="2 min",
        **{
            "cluster.nodes": 256,
            "cluster.racks_per_hall": 64,
            "power.site_budget": "300 kW",
            "recording.interval": "1 min",
        },
    )
    result = Engine(Scenario.model_validate(small)).run()
    s = summarize(result)
    m = re.search(r"site peak ([\d.]+) MW of a 0\.30 MW feed, above it for (\d+) s", s["chain"])
    assert m is not None, s["chain"]
    peak_w = float(m.group(1)) * 1e6
    # Serving at 80 % of capacity: between the GPUs' idle draw and their 700 W limit plus host and cooling.
    per_gpu = peak_w / result.scenario.cluster.gpus
    assert 300 < per_gpu < 1_400
    assert int(m.group(2)) > 0  # 2,048 GPUs draw more than 300 kW
    tot = result.totals
    assert abs(tot.it_energy_j - (tot.heat_to_liquid_j + tot.heat_to_air_j + result.stored_heat_j)) <= (
        1e-3 * tot.it_energy_j
    )
