"""How much routed-expert work each GPU of an expert-parallel replica carries, from the live GPU state.

Expert popularity is skewed (Zipf) and fixed for the run; the placement (EPLB-style) is computed once from
it, as a deployment would from its recent routing statistics. Every routing interval the engine passes
each GPU's relative speed (1 at its unthrottled clock, less when throttled, 0 when down); a sample of
tokens is routed with the configured router, which may use that availability (two-stage router, backup
path), and each GPU's share of the assignments over the mean becomes its load factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigawatt.arch.spec import ModelSpec
from gigawatt.moe.placement import place
from gigawatt.moe.registry import make_router
from gigawatt.moe.system import ExpertMap, GpuState, SystemView
from gigawatt.moe.traces import synthetic_logits, zipf_popularity
from gigawatt.scenario import ExpertParallel


@dataclass(frozen=True)
class RoutingSample:
    load: np.ndarray  # (replicas, ep) assignments per GPU over the replica's mean
    balancedness: float  # mean over replicas of mean/max GPU load
    dropped: int
    rerouted: int


class ExpertLoad:
    def __init__(self, model: ModelSpec, moe: ExpertParallel, n_replicas: int, gpus_per_node: int, seed: int):
        f = model.ffn
        self.moe, self.n_replicas, self.ep = moe, n_replicas, moe.expert_parallel
        self.n_experts = f.routed_experts
        self.rng = np.random.default_rng([seed, 0x6D6F65])  # its own stream: routing never shifts other draws
        self.popularity = zipf_popularity(f.routed_experts, moe.skew, self.rng)
        nodes = max(1, self.ep // gpus_per_node)
        # EPLB falls back to its global policy itself; the explicit hierarchical policy needs whole groups
        # per node, so there a model whose groups do not divide over the nodes places one group per node.
        groups = f.groups if moe.placement == "eplb" or f.groups % nodes == 0 else nodes
        self.placement = place(
            self.popularity,
            n_slots=f.routed_experts + moe.redundant_experts,
            n_groups=groups,
            n_nodes=nodes,
            n_gpus=self.ep,
            policy=moe.placement,
        )
        self.expert_map = ExpertMap.from_placement(self.placement)
        options = {"k": f.top_k, "score": f.scoring, "n_shared": f.shared_experts, **moe.router_options}
        self.router = make_router(moe.router, **options)

    def sample(self, speed: np.ndarray) -> RoutingSample:
        """Route one sample of tokens per replica given each GPU's relative speed, shape (replicas, ep)."""
        load = np.ones((self.n_replicas, self.ep))
        balanced, dropped, rerouted = [], 0, 0
        for r in range(self.n_replicas):  # a handful of replicas: each routes its own token sample
            logits = synthetic_logits(
                self.moe.routing_tokens, self.n_experts, rng=self.rng, popularity=self.popularity
            )
            view = SystemView(expert_map=self.expert_map, gpus=GpuState.of(np.clip(speed[r], 0.0, 1.0)))
            stats = self.router.route(logits, system=view, rng=self.rng).stats
            assert stats.gpu_load is not None
            mean = stats.gpu_load.mean()
            if mean > 0:
                load[r] = stats.gpu_load / mean
            balanced.append(stats.balancedness)
            dropped += stats.dropped
            rerouted += stats.rerouted
        return RoutingSample(
            load=load, balancedness=float(np.mean(balanced)), dropped=dropped, rerouted=rerouted
        )
