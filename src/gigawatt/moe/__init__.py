"""Mixture-of-experts routing and expert placement.

Routers (by name through `make_router`): topk, noisy_topk, capacity, group_limited, bias_balanced, top_p,
expert_choice, two_stage, adaptive_k. Each takes router logits (tokens × experts) and returns a `Routing`
with its `RoutingStats`. A `SystemView` (expert → GPU map, GPU speed and queues, system load) enables the
backup path, per-GPU counters, availability-aware and adaptive-K routing. `place` builds EPLB-style
placements; `synthetic_logits` and `load_trace` provide token routing traces.
"""

from gigawatt.moe.backup import BackupPolicy
from gigawatt.moe.locality import cross_node_fraction
from gigawatt.moe.placement import Placement, place
from gigawatt.moe.registry import ROUTERS, make_router, register
from gigawatt.moe.replay import replay
from gigawatt.moe.router import Router
from gigawatt.moe.routers.adaptive_k import AdaptiveKRouter, adaptive_k
from gigawatt.moe.routers.bias_balanced import BiasBalancedRouter
from gigawatt.moe.routers.capacity import CapacityRouter
from gigawatt.moe.routers.expert_choice import ExpertChoiceRouter
from gigawatt.moe.routers.group_limited import GroupLimitedRouter
from gigawatt.moe.routers.noisy import NoisyTopKRouter
from gigawatt.moe.routers.top_p import TopPRouter
from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.routers.two_stage import TwoStageRouter
from gigawatt.moe.routing import Routing, RoutingStats
from gigawatt.moe.system import ExpertMap, GpuState, SystemView
from gigawatt.moe.topk import top_k
from gigawatt.moe.trace_io import RecordedTrace, TraceError, load_trace
from gigawatt.moe.traces import repeat_rate, synthetic_logits, zipf_popularity

__all__ = [
    "ROUTERS",
    "AdaptiveKRouter",
    "BackupPolicy",
    "BiasBalancedRouter",
    "CapacityRouter",
    "ExpertChoiceRouter",
    "ExpertMap",
    "GpuState",
    "GroupLimitedRouter",
    "NoisyTopKRouter",
    "Placement",
    "RecordedTrace",
    "Router",
    "Routing",
    "RoutingStats",
    "SystemView",
    "TopKRouter",
    "TopPRouter",
    "TraceError",
    "TwoStageRouter",
    "adaptive_k",
    "cross_node_fraction",
    "load_trace",
    "make_router",
    "place",
    "register",
    "repeat_rate",
    "replay",
    "synthetic_logits",
    "top_k",
    "zipf_popularity",
]
