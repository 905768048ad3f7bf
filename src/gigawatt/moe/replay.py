"""Route recorded expert ids (no scores) through the same counters and backup path as the routers."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gigawatt.moe.backup import BackupPolicy, serve
from gigawatt.moe.routing import Routing, routing_stats
from gigawatt.moe.system import SystemView


def replay(
    expert_ids: ArrayLike,
    n_experts: int,
    *,
    weights: ArrayLike | None = None,
    system: SystemView | None = None,
    n_shared: int = 0,
    backup: BackupPolicy | None = None,
) -> Routing:
    """A Routing for recorded (tokens, K) expert ids (-1 empty). Without recorded weights each token's
    experts share its gate equally. Without scores there is no next-best expert: a slot whose expert has no
    usable GPU stays on a live replica or is dropped."""
    experts = np.asarray(expert_ids, dtype=np.int32)
    if experts.ndim != 2 or (experts < -1).any() or (experts >= n_experts).any():
        raise ValueError(f"expert_ids must be (tokens, K) ids within [-1, {n_experts})")
    chosen = experts >= 0
    if weights is None:
        gates = chosen / np.maximum(chosen.sum(axis=1, keepdims=True), 1)
    else:
        gates = np.asarray(weights, dtype=np.float32)
        if gates.shape != experts.shape:
            raise ValueError(f"weights shape {gates.shape} differs from expert_ids shape {experts.shape}")
    gpus: NDArray[np.int32] | None = None
    dropped = rerouted = 0
    expert_map = system.expert_map if system is not None else None
    if system is not None and expert_map is not None:

        def no_substitutes(rows: NDArray[np.intp]) -> NDArray[np.float32]:
            return np.full((rows.size, n_experts), -np.inf, dtype=np.float32)

        served = serve(experts, no_substitutes, expert_map, system.gpu_state(), backup or BackupPolicy())
        experts, gpus, dropped, rerouted = served.experts, served.gpus, served.dropped, served.rerouted
    gates = np.where(experts >= 0, gates, 0.0).astype(np.float32)
    stats = routing_stats(
        experts,
        gpus,
        n_experts=n_experts,
        n_gpus=expert_map.n_gpus if expert_map is not None else None,
        n_shared=n_shared,
        dropped=dropped,
        rerouted=rerouted,
    )
    return Routing(experts=experts, weights=gates, gpus=gpus, stats=stats)
