"""Leakage power rising with die temperature and server fan power rising with inlet air."""

import numpy as np
import pytest

from gigawatt.catalog import CatalogError
from gigawatt.power.fans import server_fans
from gigawatt.power.leakage import Leakage
from gigawatt.thermal.stack import gpu_thermal


def test_leakage_is_zero_at_its_reference_and_grows_exponentially():
    th = gpu_thermal("H100-SXM")
    leak = Leakage(
        th.leakage_power, th.leakage_reference_temp, th.leakage_per_kelvin, th.leakage_voltage_exponent
    )
    temps = np.array([20.0, 30.0, 50.0, 70.0, 90.0, 130.0])
    extra = leak.extra(temps)
    assert th.leakage_reference_temp == 30.0 and extra[1] == 0.0  # where idle power is measured
    assert extra[0] < 0  # a die cooler than that draws less
    assert np.all(np.diff(extra) > 0)
    total = th.leakage_power + extra
    assert total[-1] / leak.extra(np.array([90.0]))[0] > 1  # grows
    assert (th.leakage_power + leak.extra(np.array([130.0]))[0]) / (
        th.leakage_power + leak.extra(np.array([90.0]))[0]
    ) == pytest.approx(2.5, rel=1e-3)  # Liao, Li and He: 2.5x between 90 and 130 C
    assert leak.slope(60.0) == pytest.approx((leak.extra(60.5) - leak.extra(59.5)), rel=1e-3)
    # Lower voltage, less leakage: at the lowest clock's voltage a fraction of the boost value.
    low = leak.voltage_scale(np.array([0.725]))[0]
    assert 0.2 < low < 0.6
    assert leak.extra(90.0, low) == pytest.approx(low * leak.extra(90.0))


def test_fan_power_rises_with_inlet_temperature_by_the_cube_of_speed():
    fans = server_fans("hgx-8gpu-air")
    inlet = np.linspace(15.0, 40.0, 26)
    power = fans.power(inlet, 8)
    assert np.all(np.diff(power) >= 0)
    assert power[-1] > power[0] * 10
    assert power[0] == pytest.approx(8 * fans.max_power_per_gpu * fans.min_speed**3)
    assert power[-1] == pytest.approx(8 * fans.max_power_per_gpu)
    mid = 0.5 * (fans.ramp_start + fans.ramp_end)
    assert fans.power(mid, 8) == pytest.approx(8 * fans.max_power_per_gpu * fans.speed(mid) ** 3)
    with pytest.raises(CatalogError, match="unknown server fans"):
        server_fans("nope")
