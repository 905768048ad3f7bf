"""The fit recovers known parameters from synthetic data in the vidur layout, and is deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gigawatt.calibration.calibrate import fit_all, render_yaml
from gigawatt.calibration.fit import fit_link, mdape, nelder_mead

from .conftest import TRUE_EFF, TRUE_LINK, write_synthetic


def test_fit_recovers_known_efficiency_and_link(synthetic: Path) -> None:
    cal = fit_all(synthetic, "synthetic")
    fit = cal.roofline["A100-SXM-80GB"]
    eff = fit.efficiency
    assert eff.compute == pytest.approx(TRUE_EFF.compute, rel=0.01)
    assert eff.memory == pytest.approx(TRUE_EFF.memory, rel=0.01)
    assert eff.launch_s == pytest.approx(TRUE_EFF.launch_s, rel=0.05)
    assert eff.overlap_p == pytest.approx(TRUE_EFF.overlap_p, rel=0.05)
    assert fit.models == 3 and fit.mdape_in_sample < 0.5 and fit.mdape_held_out < 0.5
    links = cal.collectives["toy_nvswitch"]
    assert [(f.num_workers, f.devices_per_node) for f in links] == [(2, 2), (4, 4), (8, 8)]
    for f in links:
        assert f.link.bandwidth == pytest.approx(TRUE_LINK.bandwidth, rel=1e-3)
        assert f.link.latency == pytest.approx(TRUE_LINK.latency, rel=1e-3)


def test_fit_with_noise_stays_close(tmp_path: Path) -> None:
    cal = fit_all(write_synthetic(tmp_path, noise=0.05, seed=3), "synthetic")
    eff = cal.roofline["A100-SXM-80GB"].efficiency
    assert eff.compute == pytest.approx(TRUE_EFF.compute, rel=0.03)
    assert eff.memory == pytest.approx(TRUE_EFF.memory, rel=0.03)
    for f in cal.collectives["toy_nvswitch"]:
        assert f.link.bandwidth == pytest.approx(TRUE_LINK.bandwidth, rel=0.05)


def test_fit_is_deterministic(synthetic: Path) -> None:
    first = render_yaml(fit_all(synthetic, "synthetic"), "synthetic")
    second = render_yaml(fit_all(synthetic, "synthetic"), "synthetic")
    assert first == second
    assert "fitted: " in first and "by scripts/fit_roofline.py" in first


def test_nelder_mead_finds_a_quadratic_minimum() -> None:
    x = nelder_mead(lambda z: float(np.sum((z - np.array([1.0, -2.0, 0.5])) ** 2)), np.zeros(3))
    np.testing.assert_allclose(x, [1.0, -2.0, 0.5], atol=1e-4)


def test_fit_link_exact_and_mdape() -> None:
    size = np.geomspace(1e3, 1e9, 50)
    t = 2 * 7 / 8 * size / 50e9 + 14 * 3e-6
    link = fit_link(size, 8, t)
    assert link.bandwidth == pytest.approx(50e9, rel=1e-6)
    assert link.latency == pytest.approx(3e-6, rel=1e-6)
    assert mdape(np.array([1.1, 0.9, 1.0]), np.ones(3)) == pytest.approx(10.0)
