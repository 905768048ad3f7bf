"""Workload kinds by their scenario `kind`: the engine builds whatever the scenario names, through here."""

from __future__ import annotations

from collections.abc import Callable

from gigawatt.catalog import GpuSpec
from gigawatt.scenario import Scenario
from gigawatt.workload.base import Workload
from gigawatt.workload.serving.driven import DrivenServing
from gigawatt.workload.serving.steady_load import SteadyLoad
from gigawatt.workload.training.job import TrainingJob

WORKLOADS: dict[str, Callable[[Scenario, GpuSpec], Workload]] = {
    "steady_serving": SteadyLoad,
    "serving": DrivenServing,
    "training": TrainingJob,
}


def build_workload(sc: Scenario, gpu: GpuSpec) -> Workload:
    return WORKLOADS[sc.workload.kind](sc, gpu)
