"""Host power varies with load; collectives draw power (gigawatt.power.host, gigawatt.power.links)."""

import numpy as np
import pytest

from gigawatt.catalog import gpu
from gigawatt.engine import Engine
from gigawatt.power.host import ConstantHost, host_model, node_host
from gigawatt.power.links import comm_power_w, nvlink_rate
from gigawatt.workload.serving.steady import build_profile
from helpers import scenario

H100 = gpu("H100-SXM")


def test_host_power_rises_with_gpu_busy_share_and_communication():
    host = host_model(8)
    idle, busy, talking = host.power(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    assert idle < busy < talking
    assert 1_000 < idle < 2_000 and talking == pytest.approx(host.full_w)
    assert host.fans_w > 0  # the one place fan power adds


def test_per_gpu_parts_scale_with_gpus_per_node():
    assert host_model(4).idle_w < host_model(8).idle_w
    assert host_model(4).comm_w < host_model(8).comm_w


def test_constant_override_keeps_the_old_behaviour():
    host = node_host(2_500.0, 8)
    assert isinstance(host, ConstantHost)
    assert np.all(host.power(np.array([0.0, 1.0]), 1.0) == 2_500.0)
    assert node_host(None, 8) is host_model(8)


def test_collectives_draw_link_and_hbm_power():
    rate = nvlink_rate(H100)
    assert 300e9 < rate < 450e9  # ~80 % of NVLink 4's 450 GB/s one way
    w = comm_power_w(H100, 1.0, rate)
    assert 30.0 < w < 150.0
    assert comm_power_w(H100, 0.0, rate) == 0.0
    assert comm_power_w(H100, 0.5, rate) == pytest.approx(0.5 * w)
    assert comm_power_w(H100, 1.0, 50e9) < w  # a NIC-bound ring moves less through HBM


def test_tensor_parallel_serving_budgets_its_all_reduces():
    sc = scenario("balanced")
    p = build_profile(sc.workload, H100, 8)
    assert p.tp > 1 and np.all(p.comm_activity > 0.05)
    without = p.busy_power - comm_power_w(H100, p.comm_activity, nvlink_rate(H100))
    assert np.all(p.busy_power > without)


def test_host_draws_less_at_rest_than_loaded_in_a_run():
    host = []
    for demand in (0.05, 0.9):
        engine = Engine(scenario("balanced", **{"workload.demand": demand, "duration": "2 min"}))
        engine.run()
        host.append(engine.host_now.copy())  # the last tick's host power per node
    assert np.all(host[0] < host[1])
    assert np.all(host[1] <= host_model(8).full_w)


def test_explicit_host_power_is_still_accepted():
    sc = scenario("balanced", **{"power.host_power_per_node": "2.5 kW", "duration": "2 min"})
    result = Engine(sc).run()
    dur = sc.ticks * sc.tick
    non_gpu_dc = result.totals.it_energy_j / dur - result.totals.gpu_energy_j / dur
    assert non_gpu_dc > 4 * 2_500.0  # four hosts at 2.5 kW, plus the PSU losses on top
