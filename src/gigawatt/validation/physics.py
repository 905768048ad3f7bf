"""`gigawatt validate physics`: every published check the project makes, in one table.

Each concern contributes its checks through a provider, a function `() -> list[Check]` named here by
import path, so this module knows no physics itself. A provider whose data is absent (the measured
operator timings live outside the repository) returns no rows and says so in `skipped`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from gigawatt.validation.check import Check

PROVIDERS: tuple[str, ...] = (
    "gigawatt.workload.training.validate:physics_checks",
    "gigawatt.reliability.validation:physics_checks",
    "gigawatt.moe.physics:checks",
    "gigawatt.plant.physics:physics_checks",
    "gigawatt.calibration.physics:checks",
    "gigawatt.workload.serving.physics:checks",
    "gigawatt.power.physics:physics_checks",
    "gigawatt.thermal.physics:physics_checks",
    "gigawatt.power.hall_physics:physics_checks",
)


def provider(path: str) -> Callable[[], list[Check]]:
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def collect(providers: tuple[str, ...] = PROVIDERS) -> list[Check]:
    return [check for path in providers for check in provider(path)()]
