"""Synchronous training in the loop: every GPU of the job advances the same step (DESIGN §4.7).

Each tick the job's step time follows from every GPU's clock: a pipeline stage of one data-parallel
replica runs at the slowest GPU of its tensor × context group, a replica's pipeline at its slowest stage
(`StepModel.pipeline_time`), and the step ends when the slowest replica has synchronised its gradients
and the optimizer has run. So one throttled GPU stretches every GPU's step; the others wait at the next
collective, drawing less power.

A step is a sequence of phases — the pipeline's fill, its steady state and its drain, the exposed
data-parallel communication, the optimizer — each with its own activity per GPU; a tick's power is the
time-weighted mean over the phases it covers, so ticks shorter than a phase resolve the facility's power
swing at step boundaries. In the fill the stages start one after another and in the drain they finish one
after another (the last stage first), so stage s of p is busy for (p − 1 − s)/(p − 1) of each.

Checkpoints pause the whole job (every GPU idles together: another swing), and an interruption rolls it back
to its newest durable checkpoint and holds it until it has restarted (`recovery.JobRecovery`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from gigawatt.catalog import GpuSpec
from gigawatt.governor import HighestAtMost
from gigawatt.groups import group_min
from gigawatt.power.dvfs import clock_grid, dynamic_scale
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.links import comm_power_w, nvlink_rate
from gigawatt.reliability.restart import RestartTimes
from gigawatt.scenario import Scenario, Training
from gigawatt.workload.base import LatencySamples, TickWork
from gigawatt.workload.serving.steady import WorkloadError
from gigawatt.workload.training.configs import configs_of, job_of, layers_per_stage
from gigawatt.workload.training.flops import model_flops_per_token
from gigawatt.workload.training.memory import checkpoint_bytes_per_gpu, memory_per_gpu
from gigawatt.workload.training.planner import does_not_fit
from gigawatt.workload.training.recovery import JobRecovery
from gigawatt.workload.training.step import fabric_of, step_model

FILL, STEADY, DRAIN, DATA_PARALLEL, OPTIMIZER = range(5)
TRAINING, CHECKPOINTING, STALLED = range(3)  # what the job did in a tick, for the facility's power
# How often the straggler cost (the step with the slowest GPU replaced by a typical one) is sampled.
STRAGGLER_SAMPLE_S = 10.0


class TrainingJob:
    offered_label = "unthrottled"

    def __init__(self, sc: Scenario, gpu: GpuSpec):
        w = sc.workload
        assert isinstance(w, Training)
        cl = sc.cluster
        self.w, self.gpu, self.dt, self.n = w, gpu, sc.tick, cl.gpus
        self.duration = sc.ticks * sc.tick
        self.job = job = job_of(w, gpu, cl.gpus_per_node)
        self.cfg = cfg = configs_of(w)
        self.memory = memory_per_gpu(job, cfg)
        if not self.memory.fits[0]:
            raise WorkloadError(does_not_fit(job, cfg, self.memory))
        self.clocks = clocks = clock_grid(gpu)
        self.top = len(clocks) - 1
        self.model = model = step_model(job, cfg, clocks)
        p = w.parallel
        self.pp, self.dp, self.v = p.pipeline, p.data, p.virtual_stages
        self.group = p.tensor * p.context  # GPUs of one stage of one replica
        self.micro = float(model.micro_batches[0, 0])
        self.layers = layers_per_stage(job.model.layers, self.pp)
        stage = model.stage(self.layers, np.arange(self.pp) == self.pp - 1)  # (stages, clocks)
        self.stage_time, self.stage_compute, self.stage_memory = stage.time, stage.compute, stage.memory
        # Collectives draw link and HBM power (power.links): in-stage ones over NVLink, the data-parallel
        # ones at the NIC's rate (the ring's slowest hop).
        self.stage_comm = np.broadcast_to(model.stage_comm(self.layers), stage.time.shape)
        fabric_nic = fabric_of(job).nic
        self.dp_comm_w = float(comm_power_w(gpu, 1.0, fabric_nic.bandwidth * fabric_nic.efficiency))
        self.tp_rate = nvlink_rate(gpu)
        self.dp_time = model.dp_exposed[0]
        self.opt_time, self.opt_compute, self.opt_memory = (x[0] for x in (
            model.optimizer.time, model.optimizer.compute, model.optimizer.memory
        ))
        self.fill = float(model.fill_drain_send[0, 0])
        longest = self.stage_time.max(axis=0)  # every GPU at bin k: (clocks,)
        self.uniform = (longest, (self.stage_time.sum(axis=0) - longest) / self.v + self.fill)
        self.dp_outer = p.order == "tp-cp-pp-dp"
        groups = np.arange(self.n // self.group)
        stage_of_group = groups % self.pp if self.dp_outer else groups // self.dp
        self.stage_of_gpu = np.repeat(stage_of_group, self.group)
        bins = len(clocks)
        self._stage_base = self.stage_of_gpu * bins
        # Busy share in the fill and the drain, per (stage, bin) like the rate tables.
        edge = (self.pp - 1 - np.arange(self.pp)) / max(self.pp - 1, 1)
        self._edge_t = np.repeat(edge, bins)
        self.grid_stage = np.broadcast_to(np.arange(self.pp), (self.dp, self.pp))

        # Governor: a GPU running the layers' kernels at clock k draws P_busy[k].
        self.saturated = HighestAtMost(model.busy_power()[0])
        self.light: HighestAtMost | None = None
        self.duty: np.ndarray | None = None  # share of the kernels' dynamic power averaged last tick
        self.scale = dynamic_scale(gpu, clocks)
        self.dyn_full = gpu.power_full_activity - gpu.idle_power
        self._rate_tables = self._tables()
        self._opt_t = np.tile(self._rate_tables[4], self.pp)  # the optimizer's, per (stage, bin)

        self.tokens_per_step = float(job.tokens_per_step)
        top = self.top
        self.reference_step = float(sum(self._phases(top)))
        self.flops_per_token = model_flops_per_token(job.model, job.sequence_length)
        self.phase = 0.0  # position in the current step, as a fraction of it
        self.steps = 0.0  # steps done, fractional
        self.step_ends: list[float] = []
        self.step_lengths: list[float] = []
        self.lost_tokens = 0.0
        self.input_per_output = 1.0  # every trained token is an input token
        self.straggler_every = max(1, round(STRAGGLER_SAMPLE_S / self.dt))
        self.straggler_weighted = 0.0  # Σ (step / step without the slowest GPU − 1) over sampled ticks
        self.straggler_samples = 0
        self.slowest_counts = np.zeros(self.n, dtype=np.int64)
        self.stalled_s = 0.0
        self.trained_s = 0.0  # wall time making progress the job kept (ETTR's numerator)
        self.last_step_s = self.reference_step
        self.paused_until, self.pause_is_restart = 0.0, False
        self.tick_state = np.zeros(sc.ticks, dtype=np.int8)
        self.recovery = JobRecovery(
            w.checkpoint,
            RestartTimes.of(sc.reliability),
            checkpoint_bytes_per_gpu(job, cfg),
            self.n,
            cl.gpus_per_node,
            self.reference_step,
        )
        self._failure_rate = -1.0
        self._last_k: np.ndarray | int | None = None  # the clocks the cached rates below are for
        self._shares = np.zeros(5)

    # ---------------------------------------------------------------- step time from the clocks

    def _phases(self, k: np.ndarray | int) -> tuple[float, float, float, float, float]:
        """Seconds of the step's phases at these clocks: fill, steady, drain, exposed data-parallel
        communication, optimizer. The pipeline of each replica takes m·max(T_s) plus the bubble
        (ΣT_s − max T_s)/v and the fill's and drain's sends; the slowest replica sets the job's."""
        if np.ndim(k) == 0:
            kk = int(k)
            longest, edges, slowest = float(self.uniform[0][kk]), float(self.uniform[1][kk]), kk
        else:
            kg = group_min(np.asarray(k), self.group) if self.group > 1 else np.asarray(k)
            grid = kg.reshape(self.dp, self.pp) if self.dp_outer else kg.reshape(self.pp, self.dp).T
            times = self.stage_time[self.grid_stage, grid]  # (replicas, stages)
            peak = times.max(axis=1)
            bubble = (times.sum(axis=1) - peak) / self.v + self.fill
            r = int(np.argmax(self.micro * peak + bubble))
            longest, edges, slowest = float(peak[r]), float(bubble[r]), int(grid.min())
        half = 0.5 * edges
        return half, self.micro * longest, half, float(self.dp_time[slowest]), float(self.opt_time[slowest])

    # ---------------------------------------------------------------- the loop

    def start_tick(self, tick: int, now: float, up: np.ndarray | None, failure_rate_s: float) -> None:
        if failure_rate_s != self._failure_rate:  # the checkpoint interval follows the live failure rate
            self._failure_rate = failure_rate_s
            self.recovery.set_failure_rate(failure_rate_s)

    def light_query(self, budget_w: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
        return None  # a training GPU computes flat out: the saturated table alone bounds its clock

    def step(self, tick: int, now: float, dt: float, k: np.ndarray | int, up: np.ndarray | None) -> TickWork:
        offered = self.tokens_per_step * dt / self.reference_step
        rec = self.recovery
        if rec.pending_restart or (up is not None and not up.all()):  # a synchronous job stops entirely
            if rec.pending_restart and (up is None or up.all()) and now >= rec.held_until:
                rec.pending_restart = False
                self.paused_until, self.pause_is_restart = now + rec.restart_s(), True
            else:
                rec.ledger.down_s[rec.cause or "gpus down"] += dt
                self.stalled_s += dt
                self.tick_state[tick] = STALLED
                return self._idle(offered)
        # A checkpoint or a restart may hold part of the tick (what is left of it runs).
        run = dt if self.paused_until <= now else max(0.0, now + dt - self.paused_until)
        if run < dt:
            self.tick_state[tick] = STALLED if self.pause_is_restart else CHECKPOINTING
        if run <= 0.0:
            if self.pause_is_restart:
                rec.ledger.down_s[rec.cause] += dt
            return self._idle(offered)
        fresh = self._clocks_changed(k)
        if fresh:
            self._cached_phases = self._phases(k)
            self._at = self._stage_base + k  # each GPU's (stage, bin) in the rate tables
        phases = self._cached_phases
        step_s = sum(phases)
        self.last_step_s = step_s
        shares, done = self._advance(run, phases)
        if done:
            self.step_lengths.extend([step_s] * done)
            self.step_ends.extend([now + dt] * done)
        if np.ndim(k) and tick % self.straggler_every == 0:
            self._sample_straggler(np.asarray(k), step_s)
        trained = self.tokens_per_step * run / step_s
        self.steps += run / step_s
        self.trained_s += run
        if fresh or not np.array_equal(shares, self._shares):  # else the GPUs did what they did last tick
            self._shares = shares
            at = self._at
            busy_t, dynamic_t, comm_t, duty_t = self._activity(shares, phases)
            self._busy, self._dynamic, self._comm = busy_t.take(at), dynamic_t.take(at), comm_t.take(at)
            self.duty = duty_t.take(at)
            self._memory_w = (dynamic_t * self._rate_tables[3]).take(at)
        busy, dynamic, comm = self._busy, self._dynamic, self._comm
        memory = self._memory_w
        if run < dt:
            busy, dynamic, comm = busy * (run / dt), dynamic * (run / dt), comm * (run / dt)
            memory = dynamic * self._rate_tables[3].take(self._at)
        self._after_progress(now + dt)
        return TickWork(
            served=np.array([trained]),
            offered=offered,
            busy=busy,
            dynamic_w=dynamic,
            comm=comm,
            memory_w=memory,
        )

    def _idle(self, offered: float) -> TickWork:
        return TickWork(served=np.zeros(1), offered=offered, busy=np.zeros(self.n), dynamic_w=0.0)

    def _after_progress(self, now: float) -> None:
        """A detector may have caught a corruption; a checkpoint may be due."""
        rec = self.recovery
        target = rec.detected(self.steps, now)
        if target is not None:
            self._roll_back(target)
            rec.held_until = max(rec.held_until, now)
            return
        if rec.due(self.steps):
            self.paused_until, self.pause_is_restart = now + rec.take(self.steps, now), False
            self.phase = 0.0  # the checkpoint falls at a step boundary

    def _roll_back(self, target: float) -> None:
        lost = self.steps - target
        self.lost_tokens += lost * self.tokens_per_step
        self.trained_s -= lost * self.last_step_s
        self.steps, self.phase, self.paused_until = target, 0.0, 0.0

    def _clocks_changed(self, k: np.ndarray | int) -> bool:
        last = self._last_k
        if np.ndim(k) == 0:
            same = last is not None and np.ndim(last) == 0 and last == k
        else:
            same = last is not None and np.ndim(last) == 1 and np.array_equal(last, k)
        if not same:
            self._last_k = k if np.ndim(k) == 0 else np.array(k)
        return not same

    def _tables(self) -> tuple[np.ndarray, ...]:
        """Per (stage, bin), flattened: stage time, share in collectives, power above idle per busy second
        of the stage's kernels, memory traffic's share of it (links included); per bin, the optimizer's
        power above idle times its time (divided by the step's optimizer time per tick)."""
        time = self.stage_time
        w_m = self.gpu.memory_power_fraction
        scale = self.scale[None, :]
        comm = self.stage_comm / time
        stage_w = self.dyn_full * (
            (1.0 - w_m) * self.stage_compute * scale + w_m * self.stage_memory
        ) / time + comm_power_w(self.gpu, comm, self.tp_rate)
        share = self.dyn_full * w_m * self.stage_memory / time / np.maximum(stage_w, 1e-30)
        opt_w = self.dyn_full * ((1.0 - w_m) * self.opt_compute * self.scale + w_m * self.opt_memory)
        return time.ravel(), comm.ravel(), stage_w.ravel(), share.ravel(), opt_w

    def _activity(
        self, shares: np.ndarray, phases: tuple[float, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Busy share, power above idle, share in collectives and duty (the share of the kernels' power
        averaged) over a tick with these phase shares, per (stage, bin), flattened: what a GPU does
        depends on its stage and clock bin only, so the tables are formed once and gathered per GPU."""
        fill, steady, drain, _, opt = phases
        time_t, stage_comm, stage_w = self._rate_tables[:3]
        edge = self._edge_t
        # Each GPU runs its stage's kernels for m·T_s at its own clock: in the fill and the drain for its
        # edge share, the rest in the steady state.
        in_steady = np.minimum(np.maximum((self.micro * time_t - (fill + drain) * edge) / steady, 0.0), 1.0)
        busy = (shares[FILL] + shares[DRAIN]) * edge + shares[STEADY] * in_steady
        dynamic = busy * stage_w + shares[DATA_PARALLEL] * self.dp_comm_w
        comm = busy * stage_comm + shares[DATA_PARALLEL]
        if shares[OPTIMIZER] > 0:
            dynamic = dynamic + shares[OPTIMIZER] * self._opt_t / opt
        busy = busy + shares[DATA_PARALLEL] + shares[OPTIMIZER]  # NCCL and optimizer kernels run
        # A floor keeps an idle phase from turning the thermal budget into an unbounded one.
        duty = np.minimum(np.maximum(dynamic / stage_w, 0.05), 1.0)  # np.clip without its wrapper's cost
        return busy, dynamic, comm, duty

    def _advance(self, dt: float, durations: tuple[float, ...]) -> tuple[np.ndarray, int]:
        """Move through the step's phases for `dt` seconds: each phase's share of the tick, and how many
        steps ended in it. The position is kept as a fraction of the step, so it survives a change of
        clocks (and of phase lengths) between ticks."""
        d = np.asarray(durations)
        total = float(d.sum())
        start = np.concatenate(([0.0], np.cumsum(d)[:-1]))
        t0 = self.phase * total
        t1 = t0 + dt

        def covered(x: float) -> np.ndarray:  # seconds spent in each phase from the step's start to x
            whole, rest = divmod(x, total)
            return whole * d + np.minimum(np.maximum(rest - start, 0.0), d)

        shares = (covered(t1) - covered(t0)) / dt
        done = int(t1 // total)
        self.phase = (t1 % total) / total
        return shares, done

    def _sample_straggler(self, k: np.ndarray, step_s: float) -> None:
        """How much longer the step is than it would be with the slowest GPU replaced by a typical one."""
        slowest = int(np.argmin(k))
        if k[slowest] == k.max():
            return
        typical = k.copy()
        typical[slowest] = _median_bin(k)
        self.straggler_weighted += step_s / sum(self._phases(typical)) - 1.0
        self.straggler_samples += 1
        self.slowest_counts[slowest] += 1

    def lose_work(self, gpus: np.ndarray, now: float, cause: str = "", held_s: float = 0.0) -> None:
        """The job is interrupted: progress rolls back to the newest durable checkpoint, and the job restarts
        once `held_s` has passed and every GPU is back."""
        self._roll_back(self.recovery.interrupt(self.steps, now, cause, held_s))

    def silent_corruption(self, gpu: int, now: float, latency_of: Callable[[float], float]) -> None:
        """A corruption begins silently on `gpu`; `latency_of(onset progress, s)` samples its detection."""
        self.recovery.corrupt(self.steps, latency_of(self.steps * self.reference_step))

    def memory_used_bytes(self) -> float:
        """Weights, gradients, optimizer state and activations per GPU on the most loaded stage."""
        return float(self.memory.total[0])

    def backlog_tokens(self) -> float:
        return 0.0  # training has no queue: it runs as fast as its slowest GPU allows

    # ---------------------------------------------------------------- reporting

    def describe(self) -> dict[str, Any]:
        p = self.w.parallel
        return {
            "model": self.job.model.name,
            "precision": self.w.precision,
            "tensor_parallel": p.tensor,
            "expert_parallel": p.expert if p.expert > 1 else None,
            "replicas": p.data,
        }

    def unthrottled_gpu_power_w(self, offered_tokens_per_s: float) -> float:
        top = self.top
        step = self.reference_step
        compute = (self.micro * self.stage_compute[:, top].mean() + self.opt_compute[top]) / step
        memory = (self.micro * self.stage_memory[:, top].mean() + self.opt_memory[top]) / step
        return float(gpu_power(self.gpu, self.clocks[top], compute, memory))

    def summary_sections(
        self, duration_s: float, it_energy_j: float, output_tokens: float, facility_w: np.ndarray
    ) -> dict[str, Any]:
        m = self.model
        lengths = np.asarray(self.step_lengths)
        tokens_per_s = output_tokens / duration_s
        tflops = tokens_per_s * self.flops_per_token / self.n / 1e12
        peak = self.gpu.peak_flops("bf16") / 1e12
        fill, steady, drain, _, _ = self._phases(self.top)
        comm = {kind: float(v[0, self.top]) for kind, v in m.comm.items()}
        comm_total = {kind: float(v[0, self.top]) for kind, v in m.comm_total.items()}
        return {
            "training": {
                "tokens_per_s": tokens_per_s,
                "steps": self.steps,
                "step_time_s": {
                    "mean": float(lengths.mean()) if lengths.size else None,
                    "p50": float(np.percentile(lengths, 50)) if lengths.size else None,
                    "p99": float(np.percentile(lengths, 99)) if lengths.size else None,
                    "unthrottled": self.reference_step,
                },
                "tflops_per_gpu": tflops,
                "mfu": tflops / peak,
                "flops_convention": "model FLOPs per token = 3 × forward (weight GEMMs, LM head and causal "
                "attention; no recomputation), against the GPU's dense bf16 peak",
                "model_flops_per_token": self.flops_per_token,
                "bubble_fraction": (fill + drain - self.fill) / (fill + steady + drain),
                "exposed_communication_s_per_step": comm,
                "communication_s_per_step": comm_total,  # exposed and hidden behind computation
                "energy_j_per_token": it_energy_j / output_tokens if output_tokens else None,
                "straggler": {
                    "cost_fraction": self.straggler_weighted / self.straggler_samples
                    if self.straggler_samples
                    else 0.0,
                    "slowest_gpu": int(np.argmax(self.slowest_counts)) if self.straggler_samples else None,
                },
                "stalled_s": self.stalled_s,
                "facility_power_mw": self._facility_power(facility_w),
                **self._reliability(duration_s, output_tokens),
                "memory_per_gpu_gb": {k: v / 1e9 for k, v in self.memory.breakdown().items()},
                "parallel": {
                    "tensor": int(self.cfg.tp[0]),
                    "context": int(self.cfg.cp[0]),
                    "pipeline": self.pp,
                    "data": self.dp,
                    "expert": int(self.cfg.ep[0]),
                    "virtual_stages": self.v,
                    "micro_batches": int(self.micro),
                    "micro_batch": self.w.micro_batch,
                    "zero": self.w.zero,
                    "recompute": self.w.recompute,
                },
            }
        }

    def _facility_power(self, facility_w: np.ndarray) -> dict[str, float | None]:
        """Facility power while training (its swing across step boundaries) and its dip while the job
        checkpoints or stands still, at the tick's resolution."""
        p = np.asarray(facility_w) / 1e6
        train, ckpt, stalled = (p[self.tick_state == s] for s in (TRAINING, CHECKPOINTING, STALLED))
        median = float(np.median(train)) if train.size else None

        def dip(during: np.ndarray) -> float | None:
            return median - float(np.median(during)) if during.size and median is not None else None

        return {
            "training_median": median,
            "step_swing": float(np.percentile(train, 99) - np.percentile(train, 1)) if train.size else None,
            "checkpoint_dip": dip(ckpt),
            "stalled_dip": dip(stalled),
        }

    def _reliability(self, duration_s: float, output_tokens: float) -> dict[str, Any]:
        """Interruptions by cause, ETTR, goodput, GPU-hours lost, checkpoints and silent corruptions."""
        rec = self.recovery
        led = rec.ledger
        if rec.policy is None and not led.interruptions and not led.sdc_onsets:
            return {}
        count = sum(led.interruptions.values())
        causes = sorted(led.interruptions, key=lambda c: -led.interruptions[c])
        lost_h = {
            c: (led.lost_steps[c] * self.reference_step + led.down_s[c]) * self.n / 3600.0
            for c in sorted(set(led.lost_steps) | set(led.down_s))
        }
        lost_h["checkpoints"] = led.checkpoint_s * self.n / 3600.0
        return {
            "reliability": {
                "interruptions": count,
                "interruptions_by_cause": {c: led.interruptions[c] for c in causes},
                "job_mttf_h": duration_s / count / 3600.0 if count else None,
                "ettr": self.trained_s / duration_s,
                "goodput_tokens_per_s": (output_tokens - self.lost_tokens) / duration_s,
                "gpu_hours_lost_by_cause": lost_h,
                "checkpoints": led.checkpoints,
                "checkpoint_interval_s": rec.interval_steps * self.reference_step
                if np.isfinite(rec.interval_steps)
                else None,
                "checkpoint_gb_per_gpu": rec.bytes_per_gpu / 1e9,
                "checkpoint_blocking_s": rec.cost.blocking_s if rec.cost is not None else None,
                "checkpoint_overhead": led.checkpoint_s / duration_s,
                "sdc": {"onsets": led.sdc_onsets, "detected": led.sdc_detected, "escapes": led.sdc_escapes},
            }
        }

    def latency_samples(self) -> LatencySamples | None:
        return None

    def chain_effects(self, summary: dict[str, Any]) -> list[str]:
        t = summary["training"]
        effects = []
        straggler = t["straggler"]
        if straggler["cost_fraction"] >= 0.005:
            effects.append(
                f"the slowest GPU (GPU {straggler['slowest_gpu']}) stretches every step of all {self.n:,} "
                f"GPUs by {straggler['cost_fraction']:.0%}"
            )
        power = t["facility_power_mw"]
        if power["checkpoint_dip"] is not None and power["checkpoint_dip"] > 0:
            effects.append(
                f"facility power swings {power['step_swing']:.2f} MW across steps and drops "
                f"{power['checkpoint_dip']:.2f} MW in checkpoint pauses"
            )
        rel = t.get("reliability")
        if rel is not None:
            by_cause = list(rel["interruptions_by_cause"].items())[:3]
            top = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in by_cause)
            interruptions = f"{rel['interruptions']} interruption(s)" + (f" ({top})" if top else "")
            effects.append(f"{interruptions}, ETTR {rel['ettr']:.1%}")
        return effects

    def tables(self) -> dict[str, pa.Table]:
        return {
            "steps": pa.table(
                {
                    "end_s": pa.array(self.step_ends, pa.float64()),
                    "step_s": pa.array(self.step_lengths, pa.float64()),
                }
            )
        }

    def report_sections(self, tables: dict[str, pa.Table]) -> list[Any]:
        from gigawatt.report.training import step_time_section  # the report imports the summary

        if tables["steps"].num_rows == 0:
            return []
        return [step_time_section(tables["steps"], self.reference_step, self.duration)]


def _median_bin(k: np.ndarray) -> int:
    """int(np.median(k)) for clock bins (non-negative integers) from their counts, without sorting."""
    at_or_below = np.cumsum(np.bincount(k))
    n = len(k)
    lo, hi = np.searchsorted(at_or_below, [(n - 1) // 2, n // 2], side="right")  # the middle ones, sorted
    return int((int(lo) + int(hi)) / 2)

