"""Published checks of expert placement for `gigawatt validate physics`.

The one published input/output pair of DeepSeek's EPLB is the README example: two layers of 12 experts,
16 replicas, 4 groups, 2 nodes, 8 GPUs, and the phy2log it prints. `place` must reproduce it slot for slot
(a "model" check: the same algorithm on the same input, so any difference is an error of ours).
DeepSeek publishes no max/mean expert-load figure with the loads behind it, so there is no load-balance
figure to predict (a before/after figure without its loads cannot be recomputed).
"""

from __future__ import annotations

import numpy as np

from gigawatt.moe.placement import place
from gigawatt.validation.check import Check

SOURCE = "github.com/deepseek-ai/EPLB README.md, 'Interface and Example' (commit d52c72d, 2025-03-24)"
README_LOADS = (
    (90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86),
    (20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27),
)
README_SIZES = {"n_slots": 16, "n_groups": 4, "n_nodes": 2, "n_gpus": 8}
README_PHY2LOG = (
    (5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1),
    (7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1),
)


def checks() -> list[Check]:
    placement = place(README_LOADS, **README_SIZES)
    same = float(np.mean(placement.phy2log == np.array(README_PHY2LOG)))
    return [
        Check(
            group="MoE placement",
            name="EPLB README example: phy2log slots equal to the published output",
            predicted=same,
            published=1.0,
            unit="fraction",
            role="model",
            tolerance=0.0,
            note="2 layers × 16 slots; hierarchical policy (4 groups over 2 nodes)",
            source=SOURCE,
        )
    ]
