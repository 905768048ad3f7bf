"""The p-norm roofline and the fitted all-reduce links, as the simulator uses them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gigawatt.arch.ops import Op
from gigawatt.catalog import CatalogError, gpu
from gigawatt.hardware.collectives import Link, fitted_link, ring_all_gather_time, ring_all_reduce_time
from gigawatt.hardware.roofline import Efficiency, efficiency, op_times, soft_max, time_ops


def test_soft_max_bounds_and_limits() -> None:
    a, b = np.array([1.0, 2.0, 0.0, 5.0]), np.array([1.0, 0.5, 3.0, 0.0])
    assert np.array_equal(soft_max(a, b, math.inf), np.maximum(a, b))
    np.testing.assert_allclose(soft_max(a, b, 1.0), a + b)
    mid = soft_max(a, b, 1.5)
    assert np.all(mid >= np.maximum(a, b)) and np.all(mid <= a + b)
    assert soft_max(np.array([1e300]), np.array([1e300]), 50.0)[0] == pytest.approx(1e300 * 2 ** (1 / 50))


def test_time_ops_stays_vectorised_over_clocks_and_ops() -> None:
    h100 = gpu("h100")
    ops = [Op("gemm", 2e12, 1e8, 80), Op("decode", 1e9, 2e9, 80), Op("tiny", 1e3, 1e3, 1)]
    clocks = np.array([500.0, 1000.0, 1980.0])
    timing = time_ops(ops, h100, "bf16", clocks)
    assert timing.time.shape == timing.compute_busy.shape == timing.memory_busy.shape == (3,)
    assert np.all(np.diff(timing.time) < 0)  # faster at higher clocks
    eff = efficiency(h100.name)
    per_op = op_times(
        np.array([o.flops for o in ops]), np.array([o.bytes for o in ops]), h100, "bf16", clocks[:, None], eff
    )[0]
    np.testing.assert_allclose(timing.time, per_op @ np.array([80.0, 80.0, 1.0]))


@pytest.mark.parametrize("name", ["A100-SXM-80GB", "A40", "H100-SXM"])
def test_catalog_holds_a_fit_for_each_measured_gpu(name: str) -> None:
    eff = efficiency(name)
    assert eff.source.startswith("fitted: ")
    assert "vidur commit 7d47513363ec447a741ac5e47241580b47724fbf" in eff.source
    assert 0.3 < eff.compute <= 1.0 and 0.3 < eff.memory <= 1.0
    assert 1e-7 < eff.launch_s < 5e-5 and 1.0 < eff.overlap_p < 10.0


def test_fitted_link_and_ring_formula() -> None:
    link = fitted_link("h100_dgx", 8, 8)
    assert 100e9 < link.bandwidth < 450e9  # below NVLink's 450 GB/s per direction
    size = np.array([1e6, 64e6])
    vector = ring_all_reduce_time(size, 8, link)
    assert vector == pytest.approx([ring_all_reduce_time(float(s), 8, link) for s in size])
    assert ring_all_reduce_time(size, np.array([1, 8]), link)[0] == 0.0
    assert ring_all_reduce_time(1e6, 1, Link(1e9, 1e-6)) == 0.0
    with pytest.raises(CatalogError, match="fitted workers/per-node"):
        fitted_link("h100_dgx", 16, 8)
    with pytest.raises(CatalogError, match="no all-reduce fit for set-up"):
        fitted_link("nope", 2, 2)


def test_ring_all_gather_is_half_an_all_reduce() -> None:
    # A ring all-reduce is a reduce-scatter then an all-gather: two all-gathers' time, per configuration.
    link = Link(bandwidth=50e9, latency=3e-6, efficiency=0.8)
    size, n = np.array([[1e6], [64e6]]), np.array([1, 2, 8, 128])
    gather = ring_all_gather_time(size, n, link.bandwidth * link.efficiency, link.latency)
    assert 2.0 * gather == pytest.approx(ring_all_reduce_time(size, n, link))
    assert np.all(gather[:, 0] == 0.0) and np.all(gather[:, 1:] > 0.0)
    assert np.all(np.diff(gather, axis=1) > 0.0)  # more ranks, more steps: never cheaper
    assert ring_all_gather_time(0.0, 8, 1e9, 1e-6) == 0.0  # nothing to move costs nothing


def test_default_efficiency_is_plain_max() -> None:
    eff = Efficiency(compute=0.5, memory=0.5, launch_s=0.0, source="t")
    spec = gpu("a100")
    t, t_c, t_m = op_times(np.array([1e12, 1e6]), np.array([1e6, 1e9]), spec, "bf16", spec.clock_boost, eff)
    np.testing.assert_allclose(t, np.maximum(t_c, t_m))
