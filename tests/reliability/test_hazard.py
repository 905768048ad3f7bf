"""Arrhenius acceleration and supply-event effects."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gigawatt.reliability.components import catalog_components
from gigawatt.reliability.config import SupplyEventEffect, TemperatureAcceleration
from gigawatt.reliability.hazard import Acceleration, SupplyEffect, arrhenius, job_rates

BY_NAME = {c.name: c for c in catalog_components()}


def test_arrhenius_is_one_at_the_reference_and_matches_the_closed_form():
    assert arrhenius(63.0, 63.0, 0.7) == pytest.approx(1.0)
    expected = math.exp(0.7 / 8.617e-5 * (1 / (63 + 273.15) - 1 / (73 + 273.15)))
    assert arrhenius(73.0, 63.0, 0.7) == pytest.approx(expected)
    assert 1.9 < expected < 2.1  # the rule of thumb: 0.7 eV roughly doubles a rate per 10 K here
    assert arrhenius(53.0, 63.0, 0.7) < 1.0


def test_acceleration_uses_the_right_temperature_and_reference():
    acc = Acceleration.from_setting()
    assert (acc.reference_die_c, acc.reference_hbm_c) == (63.0, 68.0)
    die = np.array([63.0, 73.0])
    assert acc.factor(BY_NAME["faulty_gpu"], die, None) == pytest.approx(arrhenius(die, 63.0, 0.7))
    # Without an HBM temperature, HBM sits as far above the die as at the reference: AF 1 at the reference.
    assert acc.factor(BY_NAME["hbm"], np.array([63.0]), None) == pytest.approx([1.0])
    assert acc.factor(BY_NAME["hbm"], 63.0, 78.0) == pytest.approx(arrhenius(78.0, 68.0, 0.7))
    assert acc.factor(BY_NAME["psu"], 90.0, 90.0) == 1.0
    # A missing temperature means the reference for the components it drives.
    assert acc.factor(BY_NAME["faulty_gpu"], None, 90.0) == 1.0
    assert acc.factor(BY_NAME["hbm"], None, None) == 1.0
    off = Acceleration.from_setting(TemperatureAcceleration(enabled=False))
    assert off.factor(BY_NAME["faulty_gpu"], 90.0, None) == 1.0
    moved = Acceleration.from_setting(TemperatureAcceleration(reference_die="45 C"))
    assert moved.factor(BY_NAME["faulty_gpu"], 45.0, None) == pytest.approx(1.0)


def test_job_rates_are_catalog_rates_at_the_reference_and_scale_by_the_mean_factor():
    comps = catalog_components()
    acc = Acceleration.from_setting()
    ref = job_rates(comps, 1024, 8, acc)
    for c, rate in zip(comps, ref, strict=True):
        assert rate == pytest.approx(c.rate_per_unit_s * c.units(1024, 8))
    temps = np.where(np.arange(1024) < 512, 63.0, 73.0)
    hot = job_rates(comps, 1024, 8, acc, die_temp_c=temps)
    i = [c.name for c in comps].index("faulty_gpu")
    assert hot[i] / ref[i] == pytest.approx((1.0 + arrhenius(73.0, 63.0, 0.7)) / 2.0)
    j = [c.name for c in comps].index("psu")
    assert hot[j] == ref[j]


def test_supply_damage_scales_with_severity_and_aftermath_raises_the_hazard():
    effect = SupplyEffect.from_setting()
    psu = BY_NAME["psu"]
    p = effect.damage_probability(psu, np.array([0.0, 0.5, 1.0]))
    assert p == pytest.approx([0.0, 0.5 * psu.supply_event_probability, psu.supply_event_probability])
    assert effect.multiplier(psu, np.array([False, True])) == pytest.approx([1.0, 5.0])
    assert effect.aftermath_window_s == 24 * 3600
    off = SupplyEffect.from_setting(SupplyEventEffect(enabled=False))
    assert not off.damage_probability(psu, np.array([1.0])).any()
    assert off.multiplier(psu, np.array([True])) == pytest.approx([1.0])
    assert BY_NAME["software"].supply_event_probability == 0.0
