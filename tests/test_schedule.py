"""Scheduled events as tick windows and the conditions they impose."""

import numpy as np

from gigawatt.schedule import EventSchedule
from helpers import scenario


def schedule(**changes):
    sc = scenario("balanced", **changes)
    return EventSchedule(sc, n_units=1, liquid=True)


def test_windows_cover_whole_ticks_and_conditions_follow_them():
    s = schedule(
        **{
            "cooling.events": [
                {"kind": "capacity_loss", "at": "10 s", "duration": "2.5 s", "remaining": 0.5},
                {"kind": "capacity_loss", "at": "11 s", "duration": "5 s", "remaining": 0.5},
                {"kind": "supply_temperature_rise", "at": "0 s", "duration": "1 s", "rise": "3 C"},
            ]
        }
    )
    assert [(w.start, w.end) for w in s.cooling] == [(10, 13), (11, 16), (0, 1)]
    assert {0, 1, 10, 11, 13, 16} <= s.change_ticks
    assert s.conditions(9).capacity[0] == 1.0
    assert s.conditions(10).capacity[0] == 0.5
    assert s.conditions(12).capacity[0] == 0.25  # overlapping losses compound
    assert s.conditions(15).capacity[0] == 0.5 and s.conditions(16).capacity[0] == 1.0
    assert s.conditions(0).supply_rise[0] == 3.0 and s.conditions(1).supply_rise[0] == 0.0


def test_pump_failure_and_feed_loss_and_interface():
    s = schedule(
        **{
            "cooling.events": [
                {"kind": "pump_failure", "at": "0 s", "duration": "5 s", "pumps": 1},
                {
                    "kind": "thermal_interface_degradation",
                    "at": "0 s",
                    "duration": "5 s",
                    "gpus": [3, 3],
                    "factor": 2,
                },
            ],
            "power.supply_events": [{"kind": "feed_loss", "at": "2 s", "duration": "1 s"}],
        }
    )
    c = s.conditions(2)
    assert c.flow[0] == 1.0  # 2 pumps, 1 needed: redundancy covers one failure
    assert c.interface[3] == 4.0 and np.delete(c.interface, 3).max() == 1.0
    assert c.brake.all() and not s.conditions(3).brake.any()
    assert not c.same_thermal_path(s.conditions(5))
