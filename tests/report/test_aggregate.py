"""Time bucketing and per-bucket statistics against plain numpy on small inputs."""

from __future__ import annotations

import numpy as np

from gigawatt.report.aggregate import quantiles_by_bucket, reduce_by_bucket, share_with_bit, time_buckets


def test_quantiles_match_numpy_per_interval():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(40, 7))  # 40 intervals x 7 GPUs
    times = np.repeat(np.arange(1.0, 41.0), 7)
    order = rng.permutation(times.size)  # rows need not arrive sorted
    buckets = time_buckets(times[order])
    got = quantiles_by_bucket(buckets, values.ravel()[order], (0.0, 0.5, 0.95, 1.0))
    for q, series in got.items():
        np.testing.assert_allclose(series, np.quantile(values, q, axis=1))
    np.testing.assert_array_equal(buckets.time_s, np.arange(1.0, 41.0))


def test_buckets_merge_neighbouring_intervals_beyond_the_cap():
    times = np.repeat(np.arange(1.0, 101.0), 3)
    buckets = time_buckets(times, max_points=10)
    assert buckets.count == 10
    np.testing.assert_array_equal(buckets.time_s, np.arange(10.0, 101.0, 10.0))  # each bucket's last interval
    values = np.repeat(np.arange(100.0), 3)
    np.testing.assert_array_equal(reduce_by_bucket(buckets, values, "max"), np.arange(9.0, 100.0, 10.0))
    np.testing.assert_array_equal(reduce_by_bucket(buckets, values, "min"), np.arange(0.0, 100.0, 10.0))
    np.testing.assert_allclose(reduce_by_bucket(buckets, values, "mean"), np.arange(4.5, 100.0, 10.0))


def test_uneven_buckets_still_cover_every_interval():
    buckets = time_buckets(np.arange(1.0, 8.0), max_points=3)
    assert sorted(set(buckets.of_row.tolist())) == [0, 1, 2]
    assert buckets.time_s[-1] == 7.0


def test_share_with_bit_counts_rows_with_the_flag():
    buckets = time_buckets(np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0]))
    flags = np.array([0x4, 0x24, 0x20, 0, 0x80, 0x4])
    np.testing.assert_allclose(share_with_bit(buckets, flags, 0x4), [0.5, 0.5])
    np.testing.assert_allclose(share_with_bit(buckets, flags, 0x20), [0.5, 0.0])
