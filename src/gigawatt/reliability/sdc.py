"""Silent data corruption: silent onset, detectors, and the rollback that must land before the onset.

A corruption begins silently on one GPU. Each detector catches it independently with its probability after
its latency (measured in training progress, since detectors watch the training signal); a periodic check
(checksum or replay every `period` of progress) first waits for its next check. A detected corruption rolls
the job back to the last checkpoint written before the corruption began; one no detector catches is an
escape. Probabilities, latencies and overheads are in `catalog/failures.yaml` (sdc_detectors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from gigawatt.catalog import CatalogError, _load
from gigawatt.units import parse_quantity

KINDS = ("loss_spike", "gradient_norm", "checksum_replay")


@dataclass(frozen=True)
class Detector:
    kind: str
    probability: float  # chance it catches a given corruption
    latency_s: float  # progress from onset (or from the check) to the alarm
    period_s: float  # 0: watches every step; > 0: checks at multiples of this much progress
    overhead: float  # share of training throughput it costs


@dataclass(frozen=True)
class Detectors:
    items: tuple[Detector, ...]

    @property
    def detected_share(self) -> float:
        """Chance at least one detector catches a corruption."""
        return 1.0 - float(np.prod([1.0 - d.probability for d in self.items]))

    @property
    def overhead(self) -> float:
        return float(sum(d.overhead for d in self.items))

    def sample_latency(self, rng: np.random.Generator, onset_progress: np.ndarray) -> np.ndarray:
        """Progress from each onset until the first detector fires; inf where none catches it (an escape)."""
        onset = np.asarray(onset_progress, dtype=float)
        latency = np.full(onset.shape, np.inf)
        for d in self.items:
            caught = rng.random(onset.shape) < d.probability
            wait = d.period_s - np.mod(onset, d.period_s) if d.period_s > 0 else 0.0
            latency = np.where(caught, np.minimum(latency, wait + d.latency_s), latency)
        return latency


class DetectorSetting(Protocol):
    """The fields of `config.SdcDetector`."""

    kind: str
    probability: float | None
    latency: float | None
    period: float | None
    overhead: float | None


def _catalog_detector(kind: str) -> Detector:
    entries = _load("failures.yaml")["sdc_detectors"]
    if kind not in KINDS:
        raise CatalogError(f"unknown SDC detector {kind!r}; known: {', '.join(KINDS)}")
    e = entries[kind]
    return Detector(
        kind=kind,
        probability=float(e["probability"]["value"]),
        latency_s=parse_quantity(e["latency"]["value"], "time"),
        period_s=parse_quantity(e["period"]["value"], "time") if "period" in e else 0.0,
        overhead=float(e["overhead"]["value"]),
    )


@cache
def default_detectors() -> Detectors:
    kinds = _load("failures.yaml")["sdc_detectors"]["default"]["value"]
    return Detectors(tuple(_catalog_detector(k) for k in kinds))


def detectors_from(settings: Sequence[DetectorSetting] | None) -> Detectors:
    """Detectors from a scenario's list (catalog values where a field is left out); None: the defaults."""
    if settings is None:
        return default_detectors()
    out = []
    for s in settings:
        base = _catalog_detector(s.kind)
        out.append(
            Detector(
                kind=s.kind,
                probability=base.probability if s.probability is None else s.probability,
                latency_s=base.latency_s if s.latency is None else s.latency,
                period_s=base.period_s if s.period is None else s.period,
                overhead=base.overhead if s.overhead is None else s.overhead,
            )
        )
    return Detectors(tuple(out))


def last_clean_checkpoint(onset_progress: float, durable_checkpoints: Sequence[float]) -> float | None:
    """The latest durable checkpoint written at or before the corruption began (None: none exists).

    A checkpoint taken at exactly the onset's progress holds the state before the corrupted step.
    """
    clean = [c for c in durable_checkpoints if c <= onset_progress]
    return max(clean) if clean else None


def rollback_on_grid(onset_progress: np.ndarray, durable_progress: np.ndarray, interval: float) -> np.ndarray:
    """Rollback target when checkpoints sit at every `interval` of progress: the newest durable one that
    is not newer than the onset. `durable_progress` is the newest durable checkpoint now; a grid
    checkpoint past it is not durable yet, so the target is the smaller of the two."""
    steps = np.floor(onset_progress / interval)
    steps = np.where(steps * interval > onset_progress, steps - 1, steps)  # guard against rounding up
    return np.minimum(durable_progress, steps * interval)
