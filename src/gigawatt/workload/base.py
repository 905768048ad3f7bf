"""The one interface between the engine and any workload (DESIGN §2 steps 1 and 3).

The engine knows nothing of workload kinds. Each tick it asks the workload for the power it budgets
against (the governor's tables), hands it the clock bin the governor chose for every GPU and which GPUs
are up, and gets back what the GPUs did: the work done, how busy each GPU was and the power each drew
above idle, with the memory traffic's part of it. When GPUs drop out (a thermal shutdown, a node reset)
the workload decides what work is lost.

A workload kind is a class registered by its scenario `kind` in `gigawatt.workload.registry`; what it adds
to the summary, the results folder and the report goes through the same object, so the summary, the
results writer and the engine stay free of branches on the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from gigawatt.governor import HighestAtMost

# (arrival time, {"ttft_s": ..., "tpot_s": ...}, warm-up end): per-request latencies for event windows.
LatencySamples = tuple[np.ndarray, dict[str, np.ndarray], float]


@dataclass(frozen=True)
class TickWork:
    """What a workload's GPUs did in one tick."""

    served: np.ndarray  # tokens produced this tick (output tokens served, or tokens trained), any shape
    offered: float  # tokens the workload asked for this tick (demand; for training, the unthrottled pace)
    busy: np.ndarray  # per GPU: share of the tick the GPU had work (DCGM_FI_PROF_GR_ENGINE_ACTIVE)
    dynamic_w: np.ndarray | float  # per GPU: power above idle at the GPU's clock, before part-to-part spread
    # Per GPU: share of the tick in collectives (NVLink/NIC traffic). The GPU's own link power is already in
    # `dynamic_w` (power.links.comm_power_w, and in the saturated table the governor budgets with); the
    # engine uses this share for the host's NIC and NVSwitch power (power.host). 0: no communication.
    comm: np.ndarray | float = 0.0
    # Per GPU: the part of dynamic_w drawn by memory traffic (the w_m·a_m term of DESIGN §4.2). It heats the
    # HBM stacks (DCGM_FI_DEV_MEMORY_TEMP); the rest heats the die. 0 where a workload does not split it.
    memory_w: np.ndarray | float = 0.0


class Workload(Protocol):
    """What the engine asks of a workload; see the module docstring."""

    clocks: np.ndarray  # supported SM clocks (MHz), lowest first: the governor's bins
    saturated: HighestAtMost  # per-GPU power (W) when busy all tick, by clock bin
    light: HighestAtMost | None  # the light-load curve the query maps a budget onto (None: not used)
    # Per GPU, the share of its saturated dynamic power it averaged last tick, where the saturated table is
    # the kernels' draw rather than the tick's mean (None: the tables already describe the tick's mean).
    duty: np.ndarray | None

    def start_tick(self, tick: int, now: float, up: np.ndarray | None, failure_rate_s: float) -> None:
        """Anything the workload re-samples before the governor runs (e.g. MoE routing); the cluster's
        live failure rate (per second; 0 without reliability) sets a training checkpoint interval."""

    def light_query(self, budget_w: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
        """Map a per-GPU power budget onto the `light` table for the GPUs indexed (see the governor)."""

    def step(self, tick: int, now: float, dt: float, k: np.ndarray | int, up: np.ndarray | None) -> TickWork:
        """Run one tick at clock bins `k` (scalar: every GPU at that bin); `up` None means all GPUs up."""

    def lose_work(self, gpus: np.ndarray, now: float, cause: str = "", held_s: float = 0.0) -> None:
        """A failure (`cause`) struck these GPUs at `now`: lose what their replica or job had in flight. A
        job that must restart waits `held_s` (detection, relaunch) and for its GPUs to be back."""

    def silent_corruption(self, gpu: int, now: float, latency_of: Callable[[float], float]) -> None:
        """A silent data corruption began on `gpu`; `latency_of(progress_s)` samples when a detector
        catches it (training progress, s; inf: never)."""

    def backlog_tokens(self) -> float:
        """Tokens asked for and not yet produced."""

    def memory_used_bytes(self) -> np.ndarray | float:
        """HBM the workload holds per GPU (per-GPU array or one value for all), for DCGM_FI_DEV_FB_USED:
        serving holds its weights and the batch's KV cache, training its weights, gradients, optimizer
        state and activations. A workload with no memory model returns 0."""

    # ---------------------------------------------------------------- reporting

    lost_tokens: float
    input_per_output: float  # input (prompt) tokens per token produced
    offered_label: str  # what `offered` is, for the chain: "demand", or "unthrottled" for training

    def describe(self) -> dict[str, Any]:
        """model, precision, tensor_parallel, expert_parallel, replicas (summary keys, in that order)."""

    def unthrottled_gpu_power_w(self, offered_tokens_per_s: float) -> float:
        """Mean GPU power of the offered load with no throttling (for the chain's heat and power shares)."""

    def summary_sections(
        self, duration_s: float, it_energy_j: float, output_tokens: float, facility_w: np.ndarray
    ) -> dict[str, Any]:
        """Workload-specific headline keys and sections appended to the summary."""

    def latency_samples(self) -> LatencySamples | None:
        """Per-request latencies by arrival time, where requests are simulated one by one."""

    def chain_effects(self, summary: dict[str, Any]) -> list[str]:
        """Workload-specific effects for the causal chain (after the throttling shares)."""

    def tables(self) -> dict[str, pa.Table]:
        """Extra Parquet tables for the results folder, by file stem."""

    def report_sections(self, tables: dict[str, pa.Table]) -> list[Any]:
        """Extra report sections drawn from `tables`."""
