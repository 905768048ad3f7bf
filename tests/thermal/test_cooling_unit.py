import numpy as np
import pytest

from gigawatt.thermal import cooling_unit
from gigawatt.thermal.cold_plate import cold_plate


def test_holds_setpoint_within_capacity():
    supply, removed = cooling_unit.step(
        np.array([34.0]), np.array([50e3]), np.array([60e3]), np.array([34.0]), np.array([4e5]), 1.0
    )
    assert supply == pytest.approx([34.0]) and removed == pytest.approx([50e3])


def test_heat_beyond_capacity_warms_the_loop_through_its_mass():
    mc, excess = 4e5, 10e3
    supply, removed = cooling_unit.step(
        np.array([34.0]), np.array([70e3]), np.array([60e3]), np.array([34.0]), np.array([mc]), 2.0
    )
    assert removed == pytest.approx([60e3])
    assert supply == pytest.approx([34.0 + excess * 2.0 / mc])


def test_returns_to_setpoint_when_capacity_allows_and_never_removes_negative_heat():
    supply, removed = cooling_unit.step(
        np.array([40.0]), np.array([10e3]), np.array([60e3]), np.array([34.0]), np.array([4e3]), 1.0
    )
    assert supply == pytest.approx([34.0]) and removed == pytest.approx([10e3 + 4e3 * 6])
    supply, removed = cooling_unit.step(
        np.array([30.0]), np.array([1e3]), np.array([60e3]), np.array([34.0]), np.array([4e5]), 1.0
    )
    assert removed == pytest.approx([0.0]) and supply > 30.0


def test_cold_plate_fit_reproduces_catalog_points_and_grows_as_flow_stops():
    plate = cold_plate("oam-1kW-water")

    def resistance(flow: np.ndarray | float) -> np.ndarray:
        return plate.conduction + plate.convective(flow)

    flows = np.array([2.0, 3.0, 4.0, 5.0])
    assert resistance(flows) == pytest.approx([0.0172, 0.0160, 0.0154, 0.0151], rel=0.02)
    assert np.all(np.diff(resistance(np.array([0.1, 0.5, 1, 2, 5, 10]))) < 0)
    assert resistance(0.05) > 3 * resistance(2.0)
