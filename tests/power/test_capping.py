"""Rack power capping holds its budget without giving most of it away (gigawatt.power.capping)."""

import numpy as np

from gigawatt.engine import Engine
from gigawatt.power.capping import rack_caps
from gigawatt.scenario import Capping
from helpers import scenario


def _plant(caps: np.ndarray, demand_w: float, host_w: float, gpus: int, eff: float = 0.95):
    """A rack whose GPUs draw min(cap, demand): (wall, node DC per node, GPU power per GPU)."""
    gpu = np.repeat(np.minimum(caps, demand_w), gpus)
    node_dc = np.full(4, host_w) + gpu.reshape(4, -1).sum(axis=1)
    return np.array([node_dc.sum() / eff]), node_dc, gpu


def test_controller_settles_within_its_band_below_the_budget():
    cfg, budget = Capping(), np.array([20_000.0])
    caps = np.array([700.0])
    walls = []
    for _ in range(200):
        wall, node_dc, gpu = _plant(caps, 600.0, 1_600.0, 32)
        walls.append(float(wall[0]))
        caps = rack_caps(cfg, caps, wall, budget, node_dc, gpu, 4, 700.0, 200.0)
    steady = np.array(walls[20:]) / budget[0]
    assert steady.min() >= cfg.lower and steady.max() <= cfg.upper  # holds ≥ 97 % and never exceeds it
    assert walls[0] > budget[0]  # it starts over budget and is brought under in the first tick


def test_release_climbs_back_without_overshooting_the_upper_threshold():
    cfg, budget = Capping(), np.array([20_000.0])
    caps = np.array([250.0])  # caps left low by an earlier overload
    walls = []
    for _ in range(300):
        wall, node_dc, gpu = _plant(caps, 600.0, 1_600.0, 32)
        walls.append(float(wall[0]) / budget[0])
        caps = rack_caps(cfg, caps, wall, budget, node_dc, gpu, 4, 700.0, 200.0)
    assert max(walls) <= cfg.upper
    assert walls[-1] >= cfg.lower


def test_unbudgeted_racks_are_left_alone():
    caps = np.array([700.0])
    wall, node_dc, gpu = _plant(caps, 600.0, 1_600.0, 32)
    assert rack_caps(Capping(), caps, wall, np.array([np.inf]), node_dc, gpu, 4, 700.0, 200.0) is caps


def test_power_starved_rack_draws_at_least_97_percent_of_its_budget():
    result = Engine(scenario("power-starved")).run()
    it_kw = np.asarray(result.facility.column("it_power_kw"))
    settled = it_kw[len(it_kw) // 10 :]  # after the first 3 minutes
    assert settled.mean() >= 0.97 * 20.0
    assert settled.max() <= 20.0
    assert result.totals.budget_exceeded_rack_s <= 2.0  # only until the controller's first reaction
