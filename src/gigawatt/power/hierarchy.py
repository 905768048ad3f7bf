"""Power budgets at three levels, site → hall → rack, each enforced by the same two-threshold controller
(power.capping.rack_caps) over its own group of GPUs (DESIGN-notes/campus.md).

The rack controller holds each rack's wall power under the rack budget; the hall controller holds the sum
of its racks' wall power (the IT load on the hall's transformer, UPS and busway) under the hall budget;
the site controller holds facility power (IT through the UPS, plus cooling) under the feed. Each sets a
ceiling on its GPUs' caps and a GPU's cap is the lowest ceiling above it, so a hall over budget caps only
its own racks and a site over its feed caps every hall. The site's facility power is this tick's IT power
plus the previous tick's overhead (UPS losses and cooling are only known once the tick's heat is).

State is explicit (`Caps`); `step` returns the effective per-rack cap and the same array object when no
level moves, so the engine's cheap path (no caps to rebuild) stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.groups import group_sum
from gigawatt.power.capping import rack_caps
from gigawatt.scenario import Capping


@dataclass
class Caps:
    """Each level's per-GPU cap ceiling (W): per rack, per hall, and for the site (one element)."""

    rack: np.ndarray
    hall: np.ndarray
    site: np.ndarray
    effective: np.ndarray  # per rack: the lowest of the three


def initial(racks: int, halls: int, limit: float) -> Caps:
    rack = np.full(racks, limit)
    return Caps(rack, np.full(halls, limit), np.full(1, limit), rack)


def hall_power(rack_wall: np.ndarray, halls: int) -> np.ndarray:
    """IT power of each hall: the wall power of its racks (halls hold contiguous, equal runs of racks)."""
    return group_sum(rack_wall, len(rack_wall) // halls)


def step(
    cfg: Capping,
    caps: Caps,
    rack_wall: np.ndarray,
    rack_budget: np.ndarray,
    hall_wall: np.ndarray,
    hall_budget: np.ndarray,
    facility_w: float,
    site_budget: float,
    node_dc: np.ndarray,
    gpu_power: np.ndarray,
    nodes_per_rack: int,
    limit: float,
    floor: float,
) -> Caps:
    """The caps for the next tick from this tick's rack and hall wall power and the site's facility power.

    The hall and site controllers see a member's DC power through the same efficiency as its wall power
    (rack DC / rack wall; total node DC / facility), which is what a cut of GPU watts moves."""
    rack = rack_caps(cfg, caps.rack, rack_wall, rack_budget, node_dc, gpu_power, nodes_per_rack, limit, floor)
    hall = caps.hall
    if np.isfinite(hall_budget).any():
        rack_dc = group_sum(node_dc, nodes_per_rack)
        hall = rack_caps(
            cfg, hall, hall_wall, hall_budget, rack_dc, gpu_power, len(rack_wall) // len(hall), limit, floor
        )
    site = caps.site
    if np.isfinite(site_budget) and facility_w > 0:
        site = rack_caps(
            cfg,
            site,
            np.array([facility_w]),
            np.array([site_budget]),
            np.array([float(node_dc.sum())]),
            gpu_power,
            1,
            limit,
            floor,
        )
    if rack is caps.rack and hall is caps.hall and site is caps.site:
        return caps
    effective = rack
    if hall.min() < limit or site[0] < limit:
        effective = np.minimum(np.minimum(rack, np.repeat(hall, len(rack) // len(hall))), site[0])
    return Caps(rack, hall, site, effective)
