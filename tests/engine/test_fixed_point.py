"""A tick that repeats the last one bit for bit keeps its per-GPU results (gigawatt.fixed_point): runs with
and without the shortcut must agree exactly, through pump failures, throttling, brakes, node resets and
failures."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.engine import Engine
from gigawatt.fixed_point import FixedPoint
from gigawatt.summary import summarize
from gigawatt.workload.base import TickWork
from helpers import scenario

# The pump-failure example, with a brake (feed loss), a node reset (a sag outside ITIC) and GPU failures
# (the catalog rate multiplied so that some land within the hour) on top.
EVENTFUL = {
    "power.supply_events": [
        {"kind": "feed_loss", "at": "40 min", "duration": "2 min", "racks": [0]},
        {"kind": "sag", "at": "50 min", "duration": "1 s", "depth": 0.0, "racks": [0]},
    ],
    "reliability": {"rate_basis": "llama3", "components": {"faulty_gpu": {"rate_multiplier": 3000.0}}},
}


def _run(sc, shortcut: bool, monkeypatch) -> tuple[object, int]:
    """The run and how many ticks repeated."""
    repeats = []
    same_work = FixedPoint.same_work

    def spy(self, work):
        out = same_work(self, work)
        repeats.append(out)
        return out

    with monkeypatch.context() as m:
        m.setattr(FixedPoint, "same_work", spy)
        if not shortcut:  # the state is never held: every tick computes in full
            m.setattr(FixedPoint, "settle", lambda self, eligible, pairs: None)
        result = Engine(sc).run()
    return result, sum(repeats)


def _same_tables(a, b) -> None:
    assert a.column_names == b.column_names
    for name in a.column_names:
        x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert list(x) == list(y), name


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        ("cdu-pump-failure", EVENTFUL),
        ("power-starved", {"duration": "20 min", "recording.level": "rack"}),
        ("cooling-starved", {"duration": "20 min"}),
        # Halls keep per-tick accounts: capping runs on repeated ticks too (here no hall binds, so they come).
        (
            "campus-halls",
            {"duration": "10 min", "power.hall_budgets": [], "cooling.hall_heat_rejections": []},
        ),
    ],
)
def test_repeated_ticks_change_no_output(base, changes, monkeypatch):
    sc = scenario(base, **changes)
    full, none_repeated = _run(sc, False, monkeypatch)
    fast, repeated = _run(sc, True, monkeypatch)
    assert none_repeated == 0
    _same_tables(full.timeseries, fast.timeseries)
    _same_tables(full.facility, fast.facility)
    np.testing.assert_array_equal(full.facility_power_w, fast.facility_power_w)
    assert full.events.table().equals(fast.events.table())
    assert full.totals == fast.totals
    assert full.stored_heat_j == fast.stored_heat_j
    assert summarize(full) == summarize(fast)
    if base == "campus-halls":
        assert repeated > 300
    if base == "cdu-pump-failure":  # the scenario reaches its steady state between the events
        assert repeated > 600
        kinds = set(fast.events.kind)
        assert {"pump_failure", "feed_loss", "node_reset", "failure", "throttle_start"} <= kinds, kinds


def test_eventful_scenario_repeats_only_in_steady_stretches(monkeypatch):
    """Ticks repeat only once the state has settled: never in the first minute (the stack still heats),
    and the run leaves the repeat whenever an event arrives."""
    sc = scenario("cdu-pump-failure", **EVENTFUL)
    flags = []
    same_work = FixedPoint.same_work

    def spy(self, work):
        out = same_work(self, work)
        flags.append(out)
        return out

    monkeypatch.setattr(FixedPoint, "same_work", spy)
    Engine(sc).run()
    flags = np.array(flags)
    assert not flags[:60].any()
    pump_at = 15 * 60
    assert flags[pump_at - 10 : pump_at].all() and not flags[pump_at]


def _work(busy, dynamic=100.0):
    return TickWork(served=np.ones(1), offered=1.0, busy=busy, dynamic_w=dynamic, comm=0.1, memory_w=5.0)


def test_fixed_point_needs_a_held_state_and_equal_inputs():
    fp = FixedPoint()
    inputs = (3, True, np.array([30.0, 31.0]), None)
    assert not fp.repeats(inputs)  # nothing to repeat yet
    fp.same_work(_work(0.5))
    assert not fp.same_work(_work(0.5))  # not held: nothing repeats
    fp.settle(True, [(np.zeros(3), np.zeros(3))])
    assert fp.held
    assert fp.repeats((3, True, np.array([30.0, 31.0]), None))  # equal arrays, not the same object
    assert fp.same_work(_work(0.5))
    assert not fp.same_work(_work(0.5, dynamic=100.0 + 1e-12))  # one bit of difference is a difference
    assert not fp.repeats((3, True, np.array([30.0, 31.0 + 1e-13]), None))
    assert not fp.repeats((3, True, np.array([30.0, 31.0 + 1e-13]), None, 0))  # a different shape of key
    fp.repeats((3, True, np.array([30.0, 31.0]), [1.0]))
    assert not fp.repeats((3, True, np.array([30.0, 31.0]), [1.0]))  # other objects: the same object only


def test_per_gpu_work_repeats_only_element_for_element_and_is_copied():
    fp = FixedPoint()
    busy = np.full(4, 0.5)
    fp.same_work(_work(busy))
    fp.settle(True, [(np.zeros(3), np.zeros(3))])
    assert fp.held
    fp.repeats((1,))
    assert fp.repeats((1,))
    assert fp.same_work(_work(np.full(4, 0.5)))  # equal values in a new array
    busy[2] = 0.75  # a workload writing into the array it returned: the held copy still differs
    assert not fp.same_work(_work(busy))
    assert not fp.same_work(_work(np.full(5, 0.5)))


def test_fixed_point_refuses_changed_state():
    fp = FixedPoint()
    fp.same_work(_work(0.5))
    fp.settle(False, [(np.zeros(3), np.zeros(3))])  # the governor ran per GPU
    assert not fp.held
    fp.settle(True, [(np.zeros(3), np.array([0.0, 0.0, 5e-324]))])  # the state moved by one denormal
    assert not fp.held
    fp.settle(True, [(np.full(2, np.nan), np.full(2, np.nan))])  # NaN is never equal
    assert not fp.held
