"""Routers by name, so scenarios can pick one with a string."""

from __future__ import annotations

from typing import Any

from gigawatt.moe.router import Router
from gigawatt.moe.routers.adaptive_k import AdaptiveKRouter
from gigawatt.moe.routers.bias_balanced import BiasBalancedRouter
from gigawatt.moe.routers.capacity import CapacityRouter
from gigawatt.moe.routers.expert_choice import ExpertChoiceRouter
from gigawatt.moe.routers.group_limited import GroupLimitedRouter
from gigawatt.moe.routers.noisy import NoisyTopKRouter
from gigawatt.moe.routers.top_p import TopPRouter
from gigawatt.moe.routers.topk import TopKRouter
from gigawatt.moe.routers.two_stage import TwoStageRouter

ROUTERS: dict[str, type[Router]] = {
    cls.name: cls
    for cls in (
        TopKRouter,
        NoisyTopKRouter,
        CapacityRouter,
        GroupLimitedRouter,
        BiasBalancedRouter,
        TopPRouter,
        ExpertChoiceRouter,
        TwoStageRouter,
        AdaptiveKRouter,
    )
}


def make_router(name: str, **options: Any) -> Router:
    """A router by registry name, e.g. make_router("two_stage", k=8, alpha=0.3)."""
    try:
        cls = ROUTERS[name]
    except KeyError:
        raise ValueError(f"unknown router {name!r}; allowed: {', '.join(ROUTERS)}") from None
    try:
        return cls(**options)
    except TypeError as error:  # an option this router does not have
        raise ValueError(f"router {name!r}: {error}") from None


def register(cls: type[Router]) -> type[Router]:
    """Add a router class under its `name` (usable as a decorator)."""
    if cls.name in ROUTERS:
        raise ValueError(f"a router named {cls.name!r} is already registered")
    ROUTERS[cls.name] = cls
    return cls
