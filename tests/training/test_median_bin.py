"""The straggler sample's median clock bin, from bin counts, is numpy's median truncated as before."""

from __future__ import annotations

import numpy as np

from gigawatt.workload.training.job import _median_bin


def test_median_bin_matches_numpy_for_odd_and_even_counts():
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 4, 7, 1024, 1025):
        for _ in range(50):
            k = rng.integers(0, rng.integers(1, 120), n)
            assert _median_bin(k) == int(np.median(k))
    assert _median_bin(np.array([3, 4])) == 3  # the mean of the middle two, 3.5, truncated
