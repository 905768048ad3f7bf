"""The two-mass thermal stack: exact for any tick, energy-conserving, with the masses' time constants."""

import numpy as np
import pytest

from gigawatt.catalog import CatalogError
from gigawatt.thermal import physics, stack
from gigawatt.thermal.cold_plate import cold_plate, liquid_path

C_K, C_S = 41.0, 437.0
R_KS, R_SA, R_JC, R_MK = 0.013, np.array([0.0077, 0.02, 5.0]), np.array([0.02, 0.03, 0.02]), 0.1


def net(dt: float, r_sa: np.ndarray = R_SA) -> stack.Network:
    return stack.network(dt, C_K, C_S, R_KS, r_sa, R_JC, R_MK)


def run(n: stack.Network, steps: int, power: np.ndarray, tin: float, case: np.ndarray, sink: np.ndarray):
    for _ in range(steps):
        case, sink = n.forced(*n.free(case, sink, tin), power)
    return case, sink


def reference(dt: float, r_sa: float, case: float, sink: float, tin: float, power: float) -> np.ndarray:
    """The same ODE through a numerical eigen-decomposition (independent of the closed form)."""
    k, s = 1 / (C_K * R_KS), 1 / (C_S * R_KS)
    a = np.array([[-k, k], [s, -s - 1 / (C_S * r_sa)]])
    w, v = np.linalg.eig(a)
    phi = (v * np.exp(w * dt)) @ np.linalg.inv(v)
    steady = np.array([power * (R_KS + r_sa), power * r_sa])
    x = np.array([case - tin, sink - tin])
    return tin + steady + phi @ (x - steady)


@pytest.mark.parametrize("dt", [0.1, 1.0, 7.0, 60.0])
def test_one_tick_matches_the_matrix_exponential(dt):
    case, sink, p = np.array([50.0, 40.0, 90.0]), np.array([45.0, 38.0, 70.0]), np.array([700.0, 300.0, 0.0])
    new_case, new_sink = run(net(dt), 1, p, 30.0, case, sink)
    for i in range(3):
        want = reference(dt, R_SA[i], case[i], sink[i], 30.0, p[i])
        assert new_case[i] == pytest.approx(want[0], rel=1e-9)
        assert new_sink[i] == pytest.approx(want[1], rel=1e-9)


def test_one_long_tick_equals_many_short_ones():
    case, sink, p = np.full(3, 34.0), np.full(3, 34.0), np.array([700.0, 500.0, 100.0])
    one = run(net(10.0), 1, p, 34.0, case, sink)
    ten = run(net(1.0), 10, p, 34.0, case, sink)
    hundred = run(net(0.1), 100, p, 34.0, case, sink)
    for a, b, c in zip(one, ten, hundred, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
        np.testing.assert_allclose(a, c, rtol=1e-10)


def test_steady_state_is_the_series_resistance():
    case, sink = run(net(60.0), 2000, np.full(3, 700.0), 30.0, np.full(3, 30.0), np.full(3, 30.0))
    np.testing.assert_allclose(case, 30.0 + 700.0 * (R_KS + R_SA), rtol=1e-9)
    np.testing.assert_allclose(sink, 30.0 + 700.0 * R_SA, rtol=1e-9)


def test_heat_out_closes_the_energy_balance():
    # Heat to the coolant over a tick, integrated finely from the sink's temperature, equals P·dt − ΔU.
    n, fine = net(5.0), net(0.001)
    case, sink, p = np.array([60.0, 50.0, 40.0]), np.array([50.0, 45.0, 35.0]), np.array([700.0, 0.0, 350.0])
    new_case, new_sink = run(n, 1, p, 30.0, case, sink)
    heat_out, c, s = np.zeros(3), case, sink
    for _ in range(5000):
        c2, s2 = fine.forced(*fine.free(c, s, 30.0), p)
        heat_out += 0.5 * ((s - 30.0) + (s2 - 30.0)) / R_SA * 0.001
        c, s = c2, s2
    balance = p * 5.0 - (n.stored(new_case, new_sink) - n.stored(case, sink))
    np.testing.assert_allclose(balance, heat_out, rtol=1e-3, atol=1e-6)


def test_hold_brings_junction_and_hbm_exactly_to_their_limits():
    n = net(1.0)
    case, sink, share = np.array([60.0, 70.0, 50.0]), np.array([50.0, 60.0, 45.0]), np.array([0.1, 0.6, 0.3])
    free_case, free_sink = n.free(case, sink, 32.0)
    p_j = n.hold(87.0, free_case, n.junction, 1.0 - share)
    new_case, _ = n.forced(free_case, free_sink, p_j)
    np.testing.assert_allclose(new_case + n.junction * p_j * (1.0 - share), 87.0, rtol=1e-12)
    p_m = n.hold(95.0, free_case, n.hbm, share)
    new_case, _ = n.forced(free_case, free_sink, p_m)
    np.testing.assert_allclose(new_case + n.hbm * p_m * share, 95.0, rtol=1e-12)


def test_stopped_flow_heats_both_masses_at_p_over_their_capacity():
    n = net(1.0, np.full(3, 1e9))
    case, sink = run(n, 200, np.full(3, 700.0), 30.0, np.full(3, 30.0), np.full(3, 30.0))
    rise = (n.stored(case, sink) - n.stored(30.0, 30.0)) / (C_K + C_S)
    np.testing.assert_allclose(rise * (C_K + C_S), 700.0 * 200, rtol=1e-6)


@pytest.mark.parametrize("power", [500.0, 600.0, 700.0])
def test_time_to_87_c_after_a_pump_stop_is_tens_of_seconds(power):
    # The one-mass 80 J/K die reached 87 C in 4.5 s; package, copper and trapped water take tens of seconds.
    exact, closed = physics.pump_stop_time(power=power)
    assert 15.0 <= exact <= 40.0
    assert exact == pytest.approx(closed, rel=0.1)


def test_air_cooled_time_constant_is_about_a_minute():
    tau, closed = physics.air_time_constant()
    assert 30.0 <= tau <= 120.0
    assert tau == pytest.approx(closed, rel=0.05)


def test_catalog_blocks_for_every_gpu():
    for name in ("H100-SXM", "H200-SXM", "A100-SXM-80GB", "B200", "MI300X", "A40"):
        th = stack.gpu_thermal(name)
        assert th.junction_to_case > 0 and th.package_heat_capacity > 0
        assert stack.heat_sink(th.air_heat_sink).heat_capacity > 500  # 1-2 kg of metal
    with pytest.raises(CatalogError, match="unknown heat sink"):
        stack.heat_sink("no-such-sink")


def test_hold_with_a_duty_cycle_caps_the_kernels_draw():
    # Kernels draw P for a share d of the tick, the GPU idles at P_base otherwise: the package takes the mean,
    # the massless junction the draw, and the draw returned brings the junction exactly to the limit.
    n, d, base = net(1.0), np.array([0.3, 0.7, 1.0]), 75.0
    case, sink, share = np.full(3, 60.0), np.full(3, 50.0), np.full(3, 0.2)
    free_case, free_sink = n.free(case, sink, 32.0)
    draw = n.hold(87.0, free_case, n.junction, 1.0 - share, (d, base))
    new_case, _ = n.forced(free_case, free_sink, base + d * (draw - base))
    np.testing.assert_allclose(new_case + n.junction * (1.0 - share) * draw, 87.0, rtol=1e-12)
    np.testing.assert_allclose(draw[2], n.hold(87.0, free_case, n.junction, 1.0 - share)[2], rtol=1e-12)


def test_liquid_path_is_the_plate_fit_plus_the_coolant_rise_and_grows_as_flow_stops():
    plate = cold_plate("oam-1kW-water")
    flows = np.array([0.0, 0.5, 1.0, 2.0, 5.0])
    to_sink, to_coolant = liquid_path(plate, flows, 0.997, 4180.0)
    assert to_sink == plate.conduction
    # At 2 L/min of water: ṁ = 2 × 0.997 / 60 kg/s, so the mean-coolant rise is 1/(2·ṁ·c_p) ≈ 3.6 mK/W.
    rise = 0.5 / (2.0 * 0.997 / 60.0 * 4180.0)
    assert to_sink + to_coolant[3] == pytest.approx(0.0172 + rise, rel=0.02)  # catalog point at 2 L/min
    assert np.all(np.diff(to_coolant) < 0) and to_coolant[0] > 1e3  # stopped flow: no way to the loop


def test_air_path_splits_the_whole_junction_to_air_resistance():
    sink = stack.heat_sink(stack.gpu_thermal(physics.GPU).air_heat_sink)
    base, to_air = stack.air_path(0.082, 0.02, sink)
    assert base == sink.base_resistance and 0.02 + base + to_air == pytest.approx(0.082)
    assert stack.air_path(0.02 + sink.base_resistance, 0.02, sink)[1] == pytest.approx(0.0, abs=1e-15)
