"""A training job's checkpoints, interruptions, restarts and silent corruptions, in the loop (DESIGN 4.5).

Progress is counted in optimizer steps. A checkpoint falls every `interval` of progress (fixed, or Young's
or Daly's optimum for the job's live failure rate) and pauses training for its blocking time; it survives a
failure once its durability lag has passed. An interruption rolls progress back to the newest durable
checkpoint; the job then waits while it is held (detection, relaunch) or any of its GPUs is down, and
restarts: communicator set-up and the checkpoint load. A silent corruption is caught after a detector's
latency in progress, and rolls the job back to the newest checkpoint written at or before its onset; one no
detector catches is an escape.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from gigawatt.reliability.checkpoint import CheckpointCost, checkpoint_cost, checkpoint_interval
from gigawatt.reliability.config import CheckpointPolicy
from gigawatt.reliability.restart import RestartTimes
from gigawatt.reliability.sdc import last_clean_checkpoint


@dataclass
class Checkpoint:
    steps: float  # progress it holds
    durable_at: float  # wall time from which it survives a failure


@dataclass
class Ledger:
    """What failures cost the job, by cause."""

    interruptions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost_steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    down_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    checkpoints: int = 0
    checkpoint_s: float = 0.0
    sdc_onsets: int = 0
    sdc_detected: int = 0
    sdc_escapes: int = 0


class JobRecovery:
    def __init__(
        self,
        policy: CheckpointPolicy | None,
        restart: RestartTimes,
        bytes_per_gpu: float,
        n_gpus: int,
        gpus_per_node: int,
        step_s: float,
    ):
        self.policy, self.restart, self.step_s = policy, restart, step_s
        self.cost: CheckpointCost | None = (
            checkpoint_cost(policy, bytes_per_gpu, n_gpus, gpus_per_node) if policy is not None else None
        )
        self.bytes_per_gpu = bytes_per_gpu
        self.saved = [Checkpoint(0.0, 0.0)]  # the job starts from a durable state
        self.interval_steps = math.inf
        self.ledger = Ledger()
        self.held_until = 0.0  # detection and relaunch after an interruption
        self.pending_restart = False
        self.cause = ""  # the interruption the job is recovering from
        self.corruptions: list[tuple[float, float]] = []  # (onset, detection) in steps, pending

    # ---------------------------------------------------------------- checkpoints

    def set_failure_rate(self, rate_s: float) -> None:
        """Young's or Daly's interval follows the live failure rate; a fixed one stays."""
        if self.policy is None or self.cost is None:
            return
        mttf = 1.0 / rate_s if rate_s > 0 else math.inf
        if math.isinf(mttf) and self.policy.interval != "fixed":
            self.interval_steps = math.inf
            return
        self.interval_steps = checkpoint_interval(self.policy, self.cost, mttf) / self.step_s

    def due(self, steps: float) -> bool:
        return steps >= self.saved[-1].steps + self.interval_steps

    def take(self, steps: float, now: float) -> float:
        """Checkpoint at this progress; the seconds it blocks training."""
        assert self.cost is not None
        blocking = self.cost.blocking_s
        self.saved.append(Checkpoint(steps, now + blocking + self.cost.durability_lag_s))
        self.ledger.checkpoints += 1
        self.ledger.checkpoint_s += blocking
        return blocking

    def durable(self, now: float) -> list[float]:
        return [c.steps for c in self.saved if c.durable_at <= now]

    # ---------------------------------------------------------------- interruptions

    def interrupt(self, steps: float, now: float, cause: str, held_s: float) -> float:
        """The job stops: progress returns to the newest durable checkpoint (returned)."""
        target = max(self.durable(now))
        self._lose(cause, steps - target)
        self.held_until = max(self.held_until, now + held_s)
        self.pending_restart = True
        self.cause = cause
        self.corruptions = [(o, d) for o, d in self.corruptions if o < target]  # rolled back before onset
        return target

    def _lose(self, cause: str, steps: float) -> None:
        self.ledger.interruptions[cause] += 1
        self.ledger.lost_steps[cause] += max(steps, 0.0)

    def restart_s(self) -> float:
        """Communicator set-up and the checkpoint load, once the job may run again."""
        load = self.cost.read_s if self.cost is not None else 0.0
        return self.restart.communicator_init_s + load

    # ---------------------------------------------------------------- silent corruption

    def corrupt(self, steps: float, latency_s: float) -> None:
        """A corruption begins now; `latency_s` of progress until a detector fires (inf: it escapes)."""
        self.ledger.sdc_onsets += 1
        if math.isinf(latency_s):
            self.ledger.sdc_escapes += 1
            return
        self.corruptions.append((steps, steps + latency_s / self.step_s))

    def detected(self, steps: float, now: float) -> float | None:
        """Where progress rolls back to if a pending corruption is caught by now (None: none is)."""
        caught = [(o, d) for o, d in self.corruptions if d <= steps]
        if not caught:
            return None
        onset = min(o for o, _ in caught)
        target = last_clean_checkpoint(onset, self.durable(now))
        assert target is not None  # the start is always clean
        self.ledger.sdc_detected += 1
        self._lose("sdc", steps - target)
        self.pending_restart = True
        self.cause = "sdc"
        self.corruptions = [(o, d) for o, d in self.corruptions if o < target]
        return target
