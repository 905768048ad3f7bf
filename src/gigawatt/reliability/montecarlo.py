"""Failure histories of a synchronous training job, event by event, vectorised over trials (DESIGN 4.5).

Failures arrive as a Poisson process in wall time (hardware fails whether the job runs or restarts). A
failure while the job runs interrupts it: the work since the last durable checkpoint is lost, then come
detection, a replacement node (a hot spare, or the repair of the drained node), relaunch, communicator
set-up and the checkpoint load. A failure during that restart starts it over. Checkpoints fall every
`interval` of training progress and cost `blocking` training time each; an asynchronous one survives a
failure only `durability lag` after its blocking part. Silent data corruptions begin silently. One a
detector will catch is caught after the detector's latency in training progress, and the job rolls back to
the newest checkpoint written at or before its onset (corruptions pending together are treated as one that
began at the first). One no detector catches stays in the state as an escape. Any rollback (after a
failure or a detection) to a checkpoint from before a corruption's onset washes that corruption out.

Each loop iteration handles the next event of every trial at once, so the cost grows with the number of
events per trial (hundreds for a 54-day, 16,384-GPU run), not with the number of trials or GPUs.
Times are seconds; progress is training time at full speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gigawatt.reliability.checkpoint import CheckpointCost, checkpoint_cost, checkpoint_interval
from gigawatt.reliability.components import SDC, Component, with_overrides
from gigawatt.reliability.config import CheckpointPolicy, ReliabilityConfig
from gigawatt.reliability.hazard import Acceleration, job_rates
from gigawatt.reliability.restart import RestartTimes, spare_nodes
from gigawatt.reliability.sdc import Detectors, detectors_from, rollback_on_grid

# Tags of the Monte Carlo's random streams. Failure times draw on their own stream, so without SDC events
# every checkpoint policy sees the same failure history (common random numbers: comparing intervals
# compares like with like).
STREAMS = {"failures": 0x3C1F, "sdc": 0x5DC, "repair": 0x4E9A}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Causes:
    """Failure causes of one job: rates for the whole job at its temperature, and what each costs."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    rate_s: np.ndarray  # per second, whole job (SDC: onsets)
    detection_s: np.ndarray
    takes_node: np.ndarray
    repair_median_s: np.ndarray  # nan where nothing is repaired
    repair_sigma: np.ndarray

    @classmethod
    def of(
        cls,
        components: Sequence[Component],
        n_gpus: int,
        gpus_per_node: int,
        acceleration: Acceleration | None = None,
        die_temp_c: np.ndarray | float | None = None,
        hbm_temp_c: np.ndarray | float | None = None,
    ) -> Causes:
        rates = job_rates(
            components,
            n_gpus,
            gpus_per_node,
            acceleration or Acceleration.from_setting(),
            die_temp_c,
            hbm_temp_c,
        )
        return cls(
            names=tuple(c.name for c in components),
            labels=tuple(c.label for c in components),
            categories=tuple(c.category for c in components),
            rate_s=rates,
            detection_s=np.array([c.detection_s for c in components]),
            takes_node=np.array([c.takes_node for c in components]),
            repair_median_s=np.array(
                [np.nan if c.repair_median_s is None else c.repair_median_s for c in components]
            ),
            repair_sigma=np.array([c.repair_sigma for c in components]),
        )

    @property
    def sdc(self) -> int | None:
        return self.names.index(SDC) if SDC in self.names else None

    @classmethod
    def single(cls, rate_s: float) -> Causes:
        """One exponential failure cause that restarts in place: the closed forms' assumptions."""
        return cls(
            ("failure",),
            ("failure",),
            ("-",),
            np.array([rate_s]),
            np.zeros(1),
            np.zeros(1, bool),
            np.full(1, np.nan),
            np.zeros(1),
        )

    @property
    def mttf_s(self) -> float:
        """Mean time between failures of the job, SDC onsets not counted (they interrupt only when caught)."""
        rates = self.rate_s.copy()
        if self.sdc is not None:
            rates[self.sdc] = 0.0
        return float(1.0 / rates.sum()) if rates.sum() > 0 else float("inf")


@dataclass(frozen=True)
class Plan:
    """The checkpoint schedule and the fixed parts of a restart, in seconds."""

    interval_s: float  # training progress between checkpoints
    blocking_s: float  # training time lost per checkpoint
    durability_lag_s: float  # after the blocking part, until the checkpoint survives a failure
    restart_s: float  # relaunch + communicator set-up + checkpoint load (detection and waiting excluded)
    spare_nodes: int  # 0: wait for the drained node's repair

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("the checkpoint interval must be longer than 0 s")
        if min(self.blocking_s, self.durability_lag_s, self.restart_s, self.spare_nodes) < 0:
            raise ValueError("checkpoint and restart times and the spare pool must not be negative")


@dataclass(frozen=True)
class Estimate:
    """A mean over trials with its 95 % confidence interval."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: np.ndarray) -> Estimate:
        samples = np.asarray(samples, dtype=float)
        mean = float(samples.mean())
        half = Z95 * float(samples.std(ddof=1)) / float(np.sqrt(samples.size)) if samples.size > 1 else 0.0
        return cls(mean, mean - half, mean + half)


@dataclass(frozen=True)
class EventLog:
    """Every interruption and SDC onset of every trial (kept only when asked for)."""

    trial: np.ndarray
    time_s: np.ndarray
    kind: np.ndarray  # 0 failure, 1 SDC onset, 2 SDC detected
    cause: np.ndarray  # index into Causes.names
    progress_s: np.ndarray  # training progress when it happened
    restored_s: np.ndarray  # progress of the checkpoint the job rolled back to (nan for onsets)
    sdc_onset_s: np.ndarray  # progress at which the pending corruption began (inf if none)


FAILURE, ONSET, DETECTED = 0, 1, 2


@dataclass(frozen=True)
class MonteCarloResult:
    causes: Causes
    n_gpus: int
    horizon_s: float
    plan: Plan
    trials: int
    interruptions: np.ndarray  # [trial, cause]
    lost_work_s: np.ndarray  # [trial, cause] progress rolled back
    downtime_s: np.ndarray  # [trial, cause] wall time from the interruption until training resumes
    checkpoint_s: np.ndarray  # [trial] wall time spent on checkpoints
    progress_s: np.ndarray  # [trial] training progress at the horizon
    corrupted_s: np.ndarray  # [trial] progress on a corrupted state at the horizon
    sdc_onsets: np.ndarray  # [trial]
    sdc_escapes: np.ndarray  # [trial]
    detector_overhead: float
    log: EventLog | None = field(default=None, repr=False)

    @property
    def interruptions_total(self) -> Estimate:
        return Estimate.of(self.interruptions.sum(axis=1))

    def interruptions_by_cause(self) -> dict[str, Estimate]:
        return {n: Estimate.of(self.interruptions[:, i]) for i, n in enumerate(self.causes.names)}

    @property
    def job_mttf_s(self) -> Estimate:
        """Wall time over interruptions (the interval runs the other way round from the count's)."""
        n = self.interruptions_total
        return Estimate(
            self.horizon_s / max(n.mean, 1e-300),
            self.horizon_s / max(n.high, 1e-300),
            self.horizon_s / max(n.low, 1e-300),
        )

    @property
    def ettr(self) -> Estimate:
        """Effective training time ratio: productive training time over wall time (Kokolis et al.,
        arXiv 2410.21680: restarts, work redone since the last checkpoint and checkpoint writes are not
        productive)."""
        return Estimate.of(self.progress_s / self.horizon_s)

    @property
    def goodput_fraction(self) -> Estimate:
        """Share of the job's failure-free throughput it delivers: ETTR less what SDC detectors cost."""
        return Estimate.of(self.progress_s / (1.0 + self.detector_overhead) / self.horizon_s)

    @property
    def corrupted_fraction(self) -> Estimate:
        """Share of the training progress made on a state holding an undetected corruption (an upper
        bound on the harm of escapes: many corruptions are benign noise)."""
        return Estimate.of(self.corrupted_s / np.maximum(self.progress_s, 1e-300))

    @property
    def checkpoint_overhead(self) -> Estimate:
        """Share of wall time spent blocked on checkpoints."""
        return Estimate.of(self.checkpoint_s / self.horizon_s)

    @property
    def sdc_escapes_per_run(self) -> Estimate:
        return Estimate.of(self.sdc_escapes)

    def gpu_hours_lost(self) -> dict[str, Estimate]:
        """GPU-hours lost per cause (redone work and downtime), to checkpoints and to SDC detectors."""
        per_gpu_h = self.n_gpus / 3600.0
        out = {
            n: Estimate.of((self.lost_work_s[:, i] + self.downtime_s[:, i]) * per_gpu_h)
            for i, n in enumerate(self.causes.names)
        }
        out["checkpoints"] = Estimate.of(self.checkpoint_s * per_gpu_h)
        overhead = self.progress_s * self.detector_overhead / (1.0 + self.detector_overhead)
        out["sdc_detectors"] = Estimate.of(overhead * per_gpu_h)
        return out

    def table(self) -> list[tuple[str, str, Estimate, float]]:
        """Rows shaped like Llama 3 Table 5: component, category, interruptions, share of all, most first."""
        total = self.interruptions.sum(axis=1).mean()
        rows = [
            (
                self.causes.labels[i],
                self.causes.categories[i],
                Estimate.of(self.interruptions[:, i]),
                float(self.interruptions[:, i].mean() / total) if total > 0 else 0.0,
            )
            for i in range(len(self.causes.names))
        ]
        return sorted(rows, key=lambda r: -r[2].mean)


# ---------------------------------------------------------------- one segment of training


def _progress(x: np.ndarray, tau: float, cycle: float) -> np.ndarray:
    """Progress after x seconds of a segment that starts right after a checkpoint."""
    n = np.floor(x / cycle)
    return n * tau + np.minimum(x - n * cycle, tau)


def _durable(x: np.ndarray, tau: float, cycle: float, lag: float) -> np.ndarray:
    """Progress of the newest checkpoint of the segment that survives a failure at x."""
    return np.floor(np.maximum(x - lag, 0.0) / cycle) * tau


def _blocked(x: np.ndarray, tau: float, cycle: float, blocking: float) -> np.ndarray:
    """Wall time spent on checkpoints in the first x seconds of a segment."""
    n = np.floor(x / cycle)
    return n * blocking + np.maximum(x - n * cycle - tau, 0.0)


def _time_to(progress: np.ndarray, tau: float, cycle: float) -> np.ndarray:
    """Seconds of a segment until it has made `progress` (>= 0)."""
    n = np.maximum(np.ceil(progress / tau) - 1.0, 0.0)
    return n * cycle + (progress - n * tau)


# ---------------------------------------------------------------- the simulation


def simulate(
    causes: Causes,
    n_gpus: int,
    horizon_s: float,
    plan: Plan,
    detectors: Detectors,
    trials: int = 1000,
    seed: int = 0,
    record: bool = False,
) -> MonteCarloResult:
    """Sample `trials` histories of a job over `horizon_s` of wall time."""
    if trials < 2:
        raise ValueError("trials must be 2 or more (confidence intervals need a spread)")
    if horizon_s <= 0:
        raise ValueError("the horizon must be longer than 0 s")
    rng = {k: np.random.default_rng([seed, tag]) for k, tag in STREAMS.items()}
    n_causes = len(causes.names)
    sdc = causes.sdc
    hard = causes.rate_s.copy()
    if sdc is not None:
        hard[sdc] = 0.0
    hard_total = float(hard.sum())
    cumulative = np.cumsum(hard) / hard_total if hard_total > 0 else np.ones(n_causes)
    onset_rate = float(causes.rate_s[sdc]) if sdc is not None else 0.0

    tau, blocking, lag = plan.interval_s, plan.blocking_s, plan.durability_lag_s
    cycle = tau + blocking
    every = np.arange(trials)

    def exponential(stream: str, rate: float, size: int) -> np.ndarray:
        if rate <= 0:
            return np.full(size, np.inf)
        return rng[stream].exponential(1.0 / rate, size)

    next_failure = exponential("failures", hard_total, trials)
    next_onset = exponential("sdc", onset_rate, trials)
    resume = np.zeros(trials)  # wall time the current segment starts (the job runs from then on)
    start_progress = np.zeros(trials)  # progress at the segment's start (a durable checkpoint)
    last_stop = np.zeros(trials)  # wall time of the last interruption
    last_cause = np.full(trials, n_causes)  # cause of the last interruption (n_causes: none yet)
    onset_progress = np.full(trials, np.inf)  # progress at which a corruption a detector will catch began
    detect_progress = np.full(trials, np.inf)  # progress at which that detector fires
    pending = np.zeros(trials, dtype=int)  # such corruptions in the current state
    escape_progress = np.full(trials, np.inf)  # progress at which the first uncatchable corruption began
    escaping = np.zeros(trials, dtype=int)  # uncatchable corruptions in the current state
    spares = np.zeros((trials, plan.spare_nodes))  # wall time each spare slot is (again) ready

    interruptions = np.zeros((trials, n_causes + 1))
    lost = np.zeros((trials, n_causes + 1))
    downtime = np.zeros((trials, n_causes + 1))
    blocked = np.zeros(trials)
    onsets = np.zeros(trials)
    log: list[tuple[np.ndarray, ...]] = []

    while True:
        detect_at = np.full(trials, np.inf)
        armed = np.isfinite(detect_progress)
        ahead = np.maximum(detect_progress[armed] - start_progress[armed], 0.0)
        detect_at[armed] = resume[armed] + _time_to(ahead, tau, cycle)
        when = np.minimum(np.minimum(next_failure, next_onset), detect_at)
        live = when < horizon_s
        if not live.any():
            break
        fail = live & (next_failure == when)
        onset = live & ~fail & (next_onset == when)
        caught = live & ~fail & ~onset

        for mask, kind in ((fail, FAILURE), (caught, DETECTED)):
            idx = every[mask]
            if idx.size == 0:
                continue
            t = when[idx]
            run = np.maximum(t - resume[idx], 0.0)
            downtime[idx, last_cause[idx]] += np.minimum(t, resume[idx]) - last_stop[idx]
            progress = start_progress[idx] + _progress(run, tau, cycle)
            durable = start_progress[idx] + _durable(run, tau, cycle, lag)
            blocked[idx] += _blocked(run, tau, cycle, blocking)
            if kind == FAILURE:
                cause = np.minimum(
                    np.searchsorted(cumulative, rng["failures"].random(idx.size), side="right"), n_causes - 1
                )
                restored = durable
                washed = restored <= onset_progress[idx]
                next_failure[idx] = t + exponential("failures", hard_total, idx.size)
            else:
                cause = np.full(idx.size, sdc)
                restored = rollback_on_grid(onset_progress[idx], durable, tau)
                washed = np.ones(idx.size, dtype=bool)
            if record:
                log.append((idx, t, np.full(idx.size, kind), cause, progress, restored, onset_progress[idx]))
            clean = idx[washed]
            onset_progress[clean], detect_progress[clean], pending[clean] = np.inf, np.inf, 0
            clean = idx[restored <= escape_progress[idx]]
            escape_progress[clean], escaping[clean] = np.inf, 0
            interruptions[idx, cause] += 1
            lost[idx, cause] += progress - restored
            ready = t + causes.detection_s[cause]
            drained = causes.takes_node[cause]
            repaired = (
                t
                + causes.detection_s[cause]
                + causes.repair_median_s[cause]
                * np.exp(causes.repair_sigma[cause] * rng["repair"].standard_normal(idx.size))
            )
            if plan.spare_nodes:
                slot = np.argmin(spares[idx], axis=1)
                free = spares[idx, slot]
                spares[idx[drained], slot[drained]] = repaired[drained]
                ready = np.where(drained, np.maximum(ready, free), ready)
            else:
                ready = np.where(drained, np.maximum(ready, repaired), ready)
            resume[idx] = ready + plan.restart_s
            start_progress[idx] = restored
            last_stop[idx] = t
            last_cause[idx] = cause

        idx = every[onset]
        if idx.size:
            t = when[idx]
            # An onset while the job is down corrupts the first step after the restart.
            at = start_progress[idx] + _progress(np.maximum(t - resume[idx], 0.0), tau, cycle)
            latency = detectors.sample_latency(rng["sdc"], at)
            seen, unseen = idx[np.isfinite(latency)], idx[~np.isfinite(latency)]
            onset_progress[seen] = np.minimum(onset_progress[seen], at[np.isfinite(latency)])
            detect_progress[seen] = np.minimum(detect_progress[seen], (at + latency)[np.isfinite(latency)])
            pending[seen] += 1
            escape_progress[unseen] = np.minimum(escape_progress[unseen], at[~np.isfinite(latency)])
            escaping[unseen] += 1
            onsets[idx] += 1
            next_onset[idx] = t + exponential("sdc", onset_rate, idx.size)
            if record:
                log.append(
                    (
                        idx,
                        t,
                        np.full(idx.size, ONSET),
                        np.full(idx.size, sdc),
                        at,
                        np.full(idx.size, np.nan),
                        onset_progress[idx],
                    )
                )

    downtime[every, last_cause] += np.minimum(horizon_s, resume) - last_stop
    run = np.maximum(horizon_s - resume, 0.0)
    final = start_progress + _progress(run, tau, cycle)
    blocked += _blocked(run, tau, cycle, blocking)
    corrupted = np.maximum(final - np.minimum(onset_progress, escape_progress), 0.0)
    return MonteCarloResult(
        causes=causes,
        n_gpus=n_gpus,
        horizon_s=horizon_s,
        plan=plan,
        trials=trials,
        interruptions=interruptions[:, :n_causes],
        lost_work_s=lost[:, :n_causes],
        downtime_s=downtime[:, :n_causes],
        checkpoint_s=blocked,
        progress_s=final,
        corrupted_s=corrupted,
        sdc_onsets=onsets,
        sdc_escapes=(pending + escaping).astype(float),
        detector_overhead=detectors.overhead,
        log=_event_log(log) if record else None,
    )


def _event_log(parts: list[tuple[np.ndarray, ...]]) -> EventLog:
    if not parts:
        empty = np.zeros(0)
        return EventLog(empty.astype(int), empty, empty.astype(int), empty.astype(int), empty, empty, empty)
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    order = np.lexsort((cols[1], cols[0]))
    return EventLog(*(c[order] for c in cols))


# ---------------------------------------------------------------- from scenario models


def plan_for(
    config: ReliabilityConfig | None,
    policy: CheckpointPolicy,
    cost: CheckpointCost,
    mttf_s: float,
) -> Plan:
    """The checkpoint schedule and restart times a policy and a reliability section give."""
    restart = RestartTimes.of(config)
    return Plan(
        interval_s=checkpoint_interval(policy, cost, mttf_s),
        blocking_s=cost.blocking_s,
        durability_lag_s=cost.durability_lag_s,
        restart_s=restart.reschedule_s + restart.communicator_init_s + cost.read_s,
        spare_nodes=spare_nodes(config),
    )


def run(
    config: ReliabilityConfig | None,
    policy: CheckpointPolicy,
    *,
    n_gpus: int,
    gpus_per_node: int,
    horizon_s: float,
    checkpoint_bytes_per_gpu: float,
    trials: int = 1000,
    seed: int = 0,
    die_temp_c: np.ndarray | float | None = None,
    hbm_temp_c: np.ndarray | float | None = None,
    record: bool = False,
) -> MonteCarloResult:
    """Monte Carlo of a training job from scenario models: a reliability section (None: catalog defaults),
    a checkpoint policy and the job's size, horizon, checkpoint bytes per GPU and temperatures (None: the
    reference temperature)."""
    if n_gpus <= 0 or gpus_per_node <= 0 or n_gpus % gpus_per_node:
        raise ValueError(f"n_gpus ({n_gpus}) must be a positive multiple of gpus_per_node ({gpus_per_node})")
    components = (
        with_overrides(config.components, config.rate_basis) if config is not None else with_overrides()
    )
    acceleration = Acceleration.from_setting(config.temperature_acceleration if config is not None else None)
    causes = Causes.of(components, n_gpus, gpus_per_node, acceleration, die_temp_c, hbm_temp_c)
    cost = checkpoint_cost(policy, checkpoint_bytes_per_gpu, n_gpus, gpus_per_node)
    plan = plan_for(config, policy, cost, causes.mttf_s)
    detectors = detectors_from(config.sdc_detectors if config is not None else None)
    return simulate(causes, n_gpus, horizon_s, plan, detectors, trials, seed, record)
