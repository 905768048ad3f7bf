import numpy as np
import pytest

from gigawatt.thermal import die


def test_exact_rc_matches_analytic_solution_for_any_tick():
    # C dT/dt = P - (T - T_in)/R has T(t) = T_ss + (T0 - T_ss) exp(-t/RC); stepping must land on it exactly.
    r, c, p, t_in, t0 = (
        np.array([0.02]),
        np.array([80.0]),
        np.array([700.0]),
        np.array([35.0]),
        np.array([35.0]),
    )
    t_ss = t_in + p * r
    for dt in (0.1, 1.0, 7.0, 60.0):
        temp, e = t0.copy(), die.decay(dt, r, c)
        for step in range(1, 21):
            temp, _ = die.step(temp, p, t_in, r, c, dt, e)
            exact = t_ss + (t0 - t_ss) * np.exp(-step * dt / (r * c))
            assert temp == pytest.approx(exact, rel=1e-12)


def test_heat_out_closes_the_die_energy_balance():
    rng = np.random.default_rng(0)
    r, c = rng.uniform(0.01, 0.05, 100), rng.uniform(20, 200, 100)
    temp, p, coolant = rng.uniform(30, 80, 100), rng.uniform(0, 900, 100), rng.uniform(20, 60, 100)
    e = die.decay(1.0, r, c)
    new, heat = die.step(temp, p, coolant, r, c, 1.0, e)
    assert p * 1.0 == pytest.approx(heat + c * (new - temp), rel=1e-12)
    assert die.step_temperature(temp, p, coolant, r, e) == pytest.approx(new, rel=1e-15)


def test_power_to_hold_lands_exactly_on_the_limit():
    r, c, temp, coolant = np.array([0.02]), np.array([80.0]), np.array([80.0]), np.array([70.0])
    e = die.decay(1.0, r, c)
    p = die.power_to_hold(temp, 87.0, coolant, r, e)
    new, _ = die.step(temp, p, coolant, r, c, 1.0, e)
    assert new == pytest.approx([87.0])
    # Hotter coolant leaves less power to hold the same limit.
    assert die.power_to_hold(temp, 87.0, coolant + 5, r, e) < p


def test_h100_at_700w_sits_about_14k_above_its_coolant():
    # DESIGN §4.3: an H100 at 700 W with R ≈ 0.02 K/W sits ≈ 14 K above its coolant inlet.
    r = np.array([0.02])
    new, _ = die.step(
        np.array([30.0]),
        np.array([700.0]),
        np.array([30.0]),
        r,
        np.array([80.0]),
        1e4,
        die.decay(1e4, r, np.array([80.0])),
    )
    assert new - 30.0 == pytest.approx([14.0])
