import numpy as np
import pytest

from gigawatt.governor import HighestAtMost, highest_bin_within


@pytest.mark.parametrize("seed", range(40))
def test_highest_at_most_equals_searchsorted(seed):
    rng = np.random.default_rng(seed)
    table = np.sort(rng.random(rng.integers(1, 130)) * rng.choice([1.0, 700.0]))
    if seed % 3 == 0:
        table = np.repeat(table, rng.integers(1, 4))  # flat stretches
    lookup = HighestAtMost(table)
    x = np.concatenate(
        [
            rng.uniform(-0.2, 1.2, 4000) * table.max(),
            table,
            np.nextafter(table, -np.inf),
            np.nextafter(table, np.inf),
            [np.inf, -np.inf],
        ]
    )
    assert np.array_equal(lookup(x), np.searchsorted(table, x, side="right") - 1)


def test_highest_at_most_refuses_unsorted_tables():
    with pytest.raises(ValueError):
        HighestAtMost(np.array([1.0, 3.0, 2.0]))


def brute_force(budget, work, idle, busy, energy):
    # Tick-averaged power at each bin: idle + min(work * E[k], P_busy[k] - idle).
    power = idle + np.minimum(work[:, None] * energy[None, :], busy[None, :] - idle)
    fits = power <= budget[:, None]
    return np.where(fits.any(1), len(busy) - 1 - np.argmax(fits[:, ::-1], axis=1), -1)


def test_highest_bin_within_matches_brute_force():
    rng = np.random.default_rng(1)
    clocks = np.linspace(345, 1980, 110)
    busy = 75 + 600 * (clocks / 1980) ** 2
    capacity = 500 + 1500 * clocks / 1980
    energy = (busy - 75) / capacity
    budget = rng.uniform(50, 800, 5000)
    work = rng.uniform(0, 2500, 5000)
    got = highest_bin_within(
        budget, lambda i: (budget[i] - 75.0) / work[i], HighestAtMost(busy), HighestAtMost(energy)
    )
    assert np.array_equal(np.asarray(got), brute_force(budget, work, 75.0, busy, energy))


def test_every_gpu_unconstrained_gives_the_top_bin_as_a_scalar():
    busy = np.array([100.0, 200.0, 300.0])
    got = highest_bin_within(
        np.full(10, 700.0), None, HighestAtMost(busy), HighestAtMost(np.array([0.1, 0.2]))
    )
    assert got == 2
