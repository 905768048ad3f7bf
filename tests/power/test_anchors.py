"""The GPU power model passes through its catalog anchors (gigawatt.power.anchors)."""

import dataclasses

import numpy as np
import pytest

from gigawatt.catalog import CatalogError, gpu, gpu_entry
from gigawatt.power.anchors import decode_power_w, gemm_activity, gemm_capped_clock, solve
from gigawatt.power.dvfs import clock_grid


@pytest.mark.parametrize(("name", "clock"), [("H100-SXM", 1700), ("H200-SXM", 1700), ("A100-SXM-80GB", 1230)])
def test_capped_gemm_clock_is_the_anchor(name, clock):
    # The clock the power limiter picks for a sustained 8192³ BF16 GEMM at the TDP (H800 SXM ~800 of 989
    # TFLOPS at 700 W; A100 257 of 295 TFLOPS at 400 W): the highest clock bin at or below the anchor.
    g = gpu(name)
    assert clock - g.clock_step < gemm_capped_clock(g) <= clock


@pytest.mark.parametrize("name", ["H100-SXM", "H200-SXM"])
def test_decode_draws_its_anchor_power(name):
    assert decode_power_w(gpu(name)) == pytest.approx(300.0, abs=0.5)  # top of 137-300 W, arXiv 2605.11999


def test_solved_constants_are_physical():
    h100 = gpu("H100-SXM")
    assert h100.tdp < h100.power_full_activity < 2 * h100.tdp
    assert 0.1 < h100.memory_power_fraction < 0.3
    assert "power_anchors" in h100.sources["power_full_activity"]


def test_a_lower_anchor_clock_needs_more_power_at_full_activity():
    h100 = gpu("H100-SXM")
    entry = gpu_entry("H100-SXM")  # the anchors hold net of leakage at the catalog's anchor temperatures
    anchors = {**entry["power_anchors"], "gemm_clock_at_tdp": {"value": "1500 MHz", "source": "test"}}
    lower = solve(h100, anchors, entry["thermal"])
    assert lower.power_full_activity > h100.power_full_activity
    assert 1500 - 15 < gemm_capped_clock(lower) <= 1500  # the solve moves the capped clock with the anchor
    assert gemm_capped_clock(lower, 500.0) < gemm_capped_clock(lower)


def test_unphysical_anchors_are_refused():
    h100 = gpu("H100-SXM")
    anchors = {  # decode below idle power would need memory traffic to draw negative power
        "gemm_clock_at_tdp": {"value": "1700 MHz", "source": "test"},
        "decode_power": {"value": "50 W", "source": "test"},
    }
    with pytest.raises(CatalogError, match="power_anchors"):
        solve(h100, anchors)


def test_gemm_is_compute_bound_at_every_clock():
    h100 = gpu("H100-SXM")
    a_c, a_m = gemm_activity(h100, clock_grid(h100))
    assert np.all(a_c > 0.9) and np.all(a_m < 0.2)


def test_capped_clock_falls_with_the_limit():
    h100 = gpu("H100-SXM")
    clocks = [gemm_capped_clock(h100, w) for w in (300.0, 400.0, 500.0, 600.0, 700.0)]
    assert clocks == sorted(clocks) and clocks[0] < clocks[-1]
    no_anchor = dataclasses.replace(h100, power_full_activity=h100.tdp)  # P_max at the TDP: no throttling
    assert gemm_capped_clock(no_anchor) == h100.clock_boost


def test_idle_power_holds_at_its_measurement_temperature_and_anchors_net_of_leakage():
    """Leakage is zero where idle power was measured, and the anchors hold with the die at their own
    temperatures: a hotter anchor leaves less for dynamic power, so P_max comes out lower."""
    from gigawatt.power.leakage import Leakage

    entry = gpu_entry("H100-SXM")
    leak = Leakage.of(entry["thermal"])
    assert leak.extra(leak.reference_c) == pytest.approx(0.0, abs=1e-6)
    h100 = gpu("H100-SXM")
    cold = {k: v for k, v in entry["power_anchors"].items() if not k.endswith("_temperature")}
    assert solve(h100, cold).power_full_activity > h100.power_full_activity
