"""Roofline under DVFS (DESIGN §4.1): decode barely slows with the clock, prefill slows almost as 1/f."""

import numpy as np
import pytest

from gigawatt.arch.ops import Batch, forward_ops
from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.hardware.collectives import Link, ring_all_reduce_time
from gigawatt.hardware.roofline import time_ops

H100 = gpu("H100-SXM")
LLAMA70 = load_model("Llama-3.1-70B")


def times(batch: Batch, clocks):
    return time_ops(forward_ops(LLAMA70, batch, 4, "bf16"), H100, "bf16", np.asarray(clocks, float)).time


def test_decode_time_is_nearly_flat_in_clock():
    t = times(Batch(tokens=32, seqs=32, query_len=1, context=2048), [990.0, 1980.0])
    assert t[0] / t[1] < 1.15  # halving the clock costs decode < 15 %


def test_prefill_time_is_near_linear_in_inverse_clock():
    t = times(Batch(tokens=8192, seqs=4, query_len=2048, context=2048), [990.0, 1485.0, 1980.0])
    assert t[0] / t[2] == pytest.approx(2.0, rel=0.1)
    assert t[1] / t[2] == pytest.approx(1980 / 1485, rel=0.08)


def test_time_is_monotone_in_clock_and_work():
    clocks = np.linspace(345, 1980, 50)
    small = times(Batch(tokens=512, seqs=1, query_len=512, context=512), clocks)
    big = times(Batch(tokens=4096, seqs=8, query_len=512, context=512), clocks)
    assert np.all(np.diff(small) <= 0) and np.all(big > small)


def test_ring_all_reduce_formula():
    link = Link(bandwidth=100e9, latency=2e-6)
    assert ring_all_reduce_time(1e9, 8, link) == pytest.approx(2 * 7 / 8 * 1e9 / 100e9 + 14 * 2e-6)
    assert ring_all_reduce_time(1e9, 1, link) == 0.0
