"""Rack power capping: two thresholds with hysteresis (POLCA, arXiv 2308.12908), DESIGN §4.2.

Above `upper` × budget the rack manager cuts every GPU cap of the rack so that the rack lands on the
target, the middle of the band; below `lower` × budget it gives the caps back towards the same target,
at most `release_step` × limit per tick. Both moves are proportional: the wall power to shed (or take
back) over the GPUs of the rack, at the rack's DC/wall efficiency. A fixed release step (the earlier
controller) overshot into the upper threshold, was cut back to mid-band and climbed again, so the rack
averaged well below its band; moving straight to the target holds it there.

A cut starts from the lower of the GPUs' cap and their mean draw: a GPU drawing well under its cap is
not slowed by lowering the cap to where it already is, so the cut must start from what it draws.
"""

from __future__ import annotations

import numpy as np

from gigawatt.groups import group_sum
from gigawatt.scenario import Capping


def rack_caps(
    cfg: Capping,
    rack_cap: np.ndarray,
    rack_wall: np.ndarray,
    budget: np.ndarray,
    node_dc: np.ndarray,
    gpu_power: np.ndarray,
    nodes_per_rack: int,
    limit: float,
    floor: float,
) -> np.ndarray:
    """Each rack's per-GPU cap for the next tick (W), from this tick's rack wall power and its nodes' DC
    power and GPU power; the same array when no rack moves (the common case, kept cheap)."""
    over = rack_wall > cfg.upper * budget
    under = (rack_wall < cfg.lower * budget) & (rack_cap < limit)
    if not (over.any() or under.any()):
        return rack_cap
    gpus_per_rack = len(gpu_power) // len(rack_wall)
    rack_dc = group_sum(node_dc, nodes_per_rack)
    gpu_mean = group_sum(gpu_power, gpus_per_rack) / gpus_per_rack
    eff = np.divide(rack_dc, rack_wall, out=np.ones_like(rack_wall), where=rack_wall > 0)
    target = 0.5 * (cfg.upper + cfg.lower) * budget
    # GPU watts that move the rack's wall power onto the target (positive: shed).
    per_gpu = np.where(np.isfinite(budget), (rack_wall - target) * eff / gpus_per_rack, 0.0)
    lowered = np.maximum(floor, np.minimum(rack_cap, gpu_mean) - per_gpu)
    step = np.minimum(-per_gpu, cfg.release_step * limit)
    raised = np.minimum(limit, rack_cap + np.maximum(step, 0.0))
    return np.where(over, lowered, np.where(under, raised, rack_cap))
