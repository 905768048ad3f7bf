"""The recorder's cheap forms keep its rows: a value shared by every GPU added as one number, a tick with no
reason flags passed as None, unchanged temperatures not re-maxed, and the energy counter as Σ power × tick."""

from __future__ import annotations

import numpy as np

from gigawatt import telemetry
from gigawatt.telemetry import Recorder


def _ticks(seed: int = 3, n: int = 16, ticks: int = 7):
    rng = np.random.default_rng(seed)
    for t in range(ticks):
        power = 300.0 + 100.0 * rng.random(n)
        temp = 50.0 + 10.0 * rng.random(n)
        flags = (rng.random(n) < 0.3) * 4 if t % 2 else np.zeros(n, dtype=np.int64)
        yield power, 1980.0 - 15.0 * t, 0.25 + 0.1 * t, temp, flags, temp + 3.0


def _record(shared: bool, level: str = "node", group: int = 8) -> Recorder:
    rec = Recorder(16, group, level, "H100-SXM", 8, memory_clock_mhz=2619, tick_s=2.0)
    for i, (power, clock, active, temp, flags, hbm) in enumerate(_ticks()):
        # Each tick twice; after the fourth tick's first time the interval closes, so the repeat that
        # follows must fill the emptied maxima again.
        for again in (False, True):
            if shared:  # one number for every GPU, None for no flags, a repeat marked unchanged
                rec.add(power, clock, active, temp, flags if flags.any() else None, hbm, unchanged=again)
            else:
                rec.add(power, np.full(16, clock), np.full(16, active), temp, flags, hbm)
            if i == 3 and not again:
                rec.flush(8.0 * (i + 1))
    rec.flush(100.0)
    return rec


def test_shared_values_and_repeated_ticks_record_the_same_rows():
    for level, group in (("gpu", 1), ("node", 8)):
        full, cheap = _record(False, level, group).table(), _record(True, level, group).table()
        assert full.equals(cheap), level


def test_energy_counter_is_the_running_sum_of_power_times_tick():
    rec = Recorder(16, 1, "gpu", "H100-SXM", 8, tick_s=2.0)
    ticks = list(_ticks())
    for power, clock, active, temp, flags, hbm in ticks[:4]:
        rec.add(power, clock, active, temp, flags, hbm)
    rec.flush(8.0)
    for power, clock, active, temp, flags, hbm in ticks[4:]:
        rec.add(power, clock, active, temp, flags, hbm)
    rec.flush(14.0)
    energy = rec.table().column(telemetry.ENERGY).to_numpy().reshape(2, 16)
    want_first = sum(p for p, *_ in ticks[:4]) * 2.0 * 1e3  # mJ
    want_end = want_first + sum(p for p, *_ in ticks[4:]) * 2.0 * 1e3
    np.testing.assert_array_equal(energy[0], np.rint(want_first).astype(np.int64))
    np.testing.assert_allclose(energy[1], want_end, atol=1.0)
    assert np.all(energy[1] > energy[0])  # a counter only rises
