"""One serving replica as a discrete-event simulation, advanced window by window by the engine's ticks.

The replica is a single server: iterations run back to back while there is work, so the event kernel
is a clock (`now`) that jumps to the end of each iteration, or to the next request ready to schedule
when idle. Requests live in arrays indexed by request id; the scheduler works on the running set as
numpy arrays. Batches are small (tens of sequences), so NumPy's cost per call, not per element, is what
counts: the common iteration (sequences known to decode, at most one prompt in progress, new prompts) is
scheduled and completed with the decoders as one array and the few others as Python scalars.

Scheduler (vLLM V1 style, FCFS): decode-first, each decoding sequence takes one token of the
`max_num_batched_tokens` budget; partial prefills continue in admission order with what is left; then
offloaded sequences come back, then waiting requests are admitted while tokens, seats
(`max_num_seqs`) and KV blocks last. Without chunked prefill a prompt is admitted whole, and only when
it fits the budget left or is the iteration's first prefill (so a long prompt is never starved). When
the running set needs more KV blocks than are free, the newest sequence is preempted: `recompute`
frees its blocks and puts it at the head of the queue to prefill prompt + generated tokens again;
`offload` moves its blocks to DRAM/SSD (falling back to recompute when they are full) and it comes
back before any new admission. Swap and detokenization time stall the iteration.

Between events (a request becoming ready, the tick's end, KV blocks running out, and with requests
waiting the first sequence to finish) the iterations are pure decodes of a known set of sequences, so
such a run is advanced in closed form (`_decode_run`), with the same bits as stepping through it: the
iteration times as one array expression, their ends, busy times and integrals added in order (in Python
floats for a short run, cumulative sums for a long one). A short window evaluates its iterations one by
one in Python floats (`IterationModel.decode_timer`, the array path's bits) up to the first that does not
run, and counts its KV blocks in use as a running total; small integer sums are taken over `tolist()`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gigawatt.workload.serving import paged
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.kv_cache import PagedKvCache
from gigawatt.workload.serving.memory import (
    HostTiers,
    hbm_kv_blocks,
    kv_bytes_per_token_per_gpu,
)
from gigawatt.workload.serving.startup import StartupStages, startup_stages

# Assumption: a fast BPE tokenizer (HF tokenizers / tiktoken, Rust) encodes of the order of 1 M tokens/s
# on one core; the front end tokenizes requests one at a time.
TOKENIZE_S_PER_TOKEN = 1e-6
# Assumption: incremental detokenization and output processing, a few µs per output token, serial with
# the GPU step (vLLM V0's engine loop; V1 overlaps it in a separate process).
DETOKENIZE_S_PER_TOKEN = 5e-6


@dataclass(frozen=True)
class SchedulerConfig:
    # vLLM SchedulerConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048, DEFAULT_MAX_NUM_SEQS = 128
    # (vllm/config/scheduler.py); chunked prefill is on by default in vLLM V1.
    max_num_batched_tokens: int = 2048
    max_num_seqs: int = 128
    chunked_prefill: bool = True
    block_tokens: int = paged.BLOCK_TOKENS
    preemption: Literal["recompute", "offload"] = "recompute"


@dataclass(frozen=True)
class CpuCosts:
    tokenize_s_per_token: float = TOKENIZE_S_PER_TOKEN
    detokenize_s_per_token: float = DETOKENIZE_S_PER_TOKEN


@dataclass(frozen=True)
class TickWork:
    """What a replica did in one window: busy times are per GPU of the replica."""

    busy_s: float  # running iterations (GPU work, swaps, CPU post-processing)
    compute_busy_s: float
    memory_busy_s: float
    output_tokens: int
    input_tokens: int  # prefill tokens computed, recomputation included
    loading_s: float  # cold start (the engine's start-up stages, startup.py)
    kv_utilisation: float  # HBM KV blocks in use at the end of the window


@dataclass(frozen=True)
class RequestRecords:
    """Per-request outcomes of one replica; times in s, NaN where the event has not happened."""

    replica: int
    arrival_s: np.ndarray
    admitted_s: np.ndarray  # first scheduled
    first_token_s: np.ndarray
    finish_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    preemptions: np.ndarray
    interruptions: np.ndarray  # in flight when the replica failed


@dataclass(frozen=True)
class ReplicaStats:
    replica: int
    simulated_s: float
    cold_starts: int
    cold_start_s: float  # one cold start
    failures: int
    preemptions: int
    recomputed_tokens: int  # KV tokens thrown away by preemption or failure
    kv_utilisation_mean: float  # time-weighted over the simulated time
    kv_utilisation_peak: float
    kv_capacity_blocks: int
    bytes_moved: dict[str, float]  # replica-wide, by direction (hbm_to_dram, dram_to_ssd, ...)
    batch_mean: float  # sequences holding KV in HBM (running), time-weighted over the simulated time
    cold_start_stages: dict[str, float]  # seconds of each start-up stage


@dataclass
class _Iteration:
    ids: np.ndarray  # sequences computed this iteration
    tokens: np.ndarray | None  # tokens each computes (None with `decoders_kv`)
    batch: tuple[float, float, float, float, float, float]  # IterationModel arguments after the bin
    fixed_s: float  # clock-independent: swaps and CPU post-processing
    input_tokens: int
    remaining: float = 1.0  # share of the iteration still to run
    clock_bin: int = -1
    duration_s: float = 0.0
    compute_s: float = 0.0
    memory_s: float = 0.0
    decode_run: bool = False  # every running sequence decodes one token
    # Set when the iteration is the running sequences known to decode, then at most one other running
    # sequence, then prompts just admitted (`ids` in that order): the decoders' KV tokens before it, the
    # other's (id, tokens, KV tokens, target), each prompt's (id, chunk, blocks, whole prompt).
    decoders_kv: np.ndarray | None = None
    last: tuple[int, int, int, int] | None = None
    prompts: list[tuple[int, int, int, int]] = field(default_factory=list)


# Longest closed-form run of decode iterations computed at once (bounds the arrays built per run).
_RUN_LIMIT = 1024
# Runs of up to this many iterations are added up in Python floats and ints, longer ones in arrays (the
# same arithmetic; Python's per-element cost beats NumPy's per-call cost on short windows).
_SHORT_RUN = 24
# Windows of up to this many iterations evaluate them one by one in Python floats
# (IterationModel.decode_time), stopping at the first that does not run.
_SCALAR_RUN = _SHORT_RUN
# Sums of small integer arrays on hot paths are taken as Python ints over `tolist()`: NumPy's reduction
# costs more per call than the list and the additions (the same integers). Long arrays: `_sum`.
_sum = np.add.reduce  # ndarray.sum without its Python wrapper
_INT_FIELDS = ("prompt", "output", "generated", "kv_tokens", "target", "preemptions", "interruptions")
_TIME_FIELDS = ("arrival", "ready", "admitted", "first_token", "finish")


def _decode_shapes(
    n: int, kv_total: int, kv: np.ndarray, left: np.ndarray, shortest: int, limit: int
) -> tuple[list[int] | np.ndarray, list[int] | np.ndarray]:
    """Sequences n_j and keys Σ (kv + j + 1) of the next `limit` pure-decode iterations of sequences with
    `kv` tokens and `left` output tokens to go (a sequence runs iterations j < left). Integers, as Python
    lists for a short window, arrays for a long one."""
    if shortest >= limit:  # nobody finishes within the window
        if limit <= _SHORT_RUN:
            return [n] * limit, list(range(kv_total + n, kv_total + n * limit + 1, n))
        return np.full(limit, n), np.arange(kv_total + n, kv_total + n * limit + 1, n)
    if limit > _SHORT_RUN:
        capped = np.minimum(left, limit)
        seqs = n - np.cumsum(np.bincount(capped, minlength=limit + 1)[:limit])
        gone = np.cumsum(np.bincount(capped, weights=kv, minlength=limit + 1)[:limit]).astype(np.int64)
        return seqs, (kv_total - gone) + seqs * np.arange(1, limit + 1)
    gone, gone_kv = [0] * limit, [0] * limit
    for k, g in zip(kv.tolist(), left.tolist(), strict=True):
        if g < limit:
            gone[g] += 1
            gone_kv[g] += k
    seqs, keys = [], []
    for j in range(limit):
        n -= gone[j]
        kv_total -= gone_kv[j]
        seqs.append(n)
        keys.append(kv_total + n * (j + 1))
    return seqs, keys


def _blocks_in_use(kv: list[int], left: list[int], k: int, block: int, other: int) -> list[int]:
    """HBM blocks in use while each of the next `k` pure-decode iterations runs: `other`, plus
    ceil((kv + j) / block) for iteration j = 1..k of each sequence still running (j ≤ its `left`). A
    sequence with b = ceil(kv / block) blocks and s = b·block − kv free slots needs one more block at
    iterations s + 1, s + 1 + block, ...; added up as steps of a running total (for short windows)."""
    steps = [0] * (k + 1)
    steps[0] = other
    if min(left) >= k:  # nobody finishes: Σ b = (Σ kv + Σ s) / block, and the steps up
        free = [-kv_i % block for kv_i in kv]
        steps[0] += (sum(kv) + sum(free)) // block
        for s in free:
            while s < k:
                steps[s] += 1
                s += block
    else:
        for kv_i, left_i in zip(kv, left, strict=True):
            b = (kv_i + block - 1) // block
            s = b * block - kv_i
            steps[0] += b
            end = min(left_i, k)  # a sequence finished after iteration left_i holds nothing from then on
            while s < end:
                steps[s] += 1
                s += block
            if left_i < k:
                steps[left_i] -= b + (end - (b * block - kv_i) + block - 1) // block
    used, total = [], 0
    for step in steps[:k]:
        total += step
        used.append(total)
    return used


def _ends(
    now: float,
    t: np.ndarray,
    seqs: list[int] | np.ndarray,
    detokenize: float,
    t_end: float,
    next_ready: float,
) -> tuple[int, list[float] | np.ndarray, list[float] | np.ndarray]:
    """How many of the iterations (GPU times `t`, `seqs` sequences each) run from `now`: each ends by
    `t_end`, and each after the first starts before `next_ready`; their ends and durations. Ends are
    added one after another, in a Python loop or a cumulative sum (the same IEEE additions)."""
    if len(seqs) <= _SHORT_RUN:
        ends, durations, end = [], [], now
        for t_j, n_j in zip(t.tolist(), seqs, strict=True):
            duration = t_j + n_j * detokenize
            end += duration
            if end > t_end or (ends and ends[-1] >= next_ready):
                break
            ends.append(end)
            durations.append(duration)
        return len(ends), ends, durations
    line = np.empty(len(seqs) + 1)
    line[0] = now
    durations = line[1:]
    np.multiply(seqs, detokenize, out=durations)
    durations += t
    ends = np.cumsum(line)[1:]
    k = min(
        int(np.searchsorted(ends, t_end, side="right")),
        int(np.searchsorted(ends, next_ready, side="left")) + 1,
        len(seqs),
    )
    return k, ends, durations


class ReplicaServer:
    """One replica of `iteration.tp` × `iteration.pp` GPUs serving requests with continuous batching."""

    def __init__(
        self,
        iteration: IterationModel,
        scheduler: SchedulerConfig | None = None,
        cpu: CpuCosts | None = None,
        host: HostTiers | None = None,
        start_s: float = 0.0,
        replica: int = 0,
        kv_blocks: int | None = None,
        startup: StartupStages | None = None,
        serving_at_start: bool = False,
    ) -> None:
        """A replica that starts cold at `start_s` (its start-up stages, default: catalog figures, local NVMe,
        warm caches), or is already serving then if `serving_at_start`."""
        self.iteration, self.replica = iteration, replica
        self.config = scheduler or SchedulerConfig()
        self.cpu = cpu or CpuCosts()
        host = host or HostTiers()
        cfg, m, gpu, tp, pp = self.config, iteration.model, iteration.gpu, iteration.tp, iteration.pp
        if cfg.max_num_seqs > cfg.max_num_batched_tokens:
            raise ValueError(
                "max_num_seqs must not exceed max_num_batched_tokens (each decode takes a token)"
            )
        block_bytes = cfg.block_tokens * kv_bytes_per_token_per_gpu(m, iteration.precision, tp, pp)
        if kv_blocks is None:
            kv_blocks = hbm_kv_blocks(
                m, gpu, iteration.precision, tp, pp, cfg.block_tokens, cfg.max_num_batched_tokens
            )
        self.kv = PagedKvCache(
            hbm_blocks=kv_blocks,
            dram_blocks=int(host.dram_bytes_per_gpu // block_bytes),
            ssd_blocks=int(host.ssd_bytes_per_gpu // block_bytes),
            block_tokens=cfg.block_tokens,
            block_bytes_per_gpu=block_bytes,
            gpus=tp * pp,
            pcie_bandwidth=gpu.pcie_bandwidth,
            ssd_bandwidth=host.ssd_bandwidth,
        )
        self.startup = startup or startup_stages(m, iteration.precision, tp, pp, gpu)
        self.cold_start_s = self.startup.total

        self.now = start_s
        self._n = 0
        self._int = {name: np.zeros(0, dtype=np.int64) for name in _INT_FIELDS}
        self._time = {name: np.zeros(0) for name in _TIME_FIELDS}
        self._tokenizer_free = -np.inf
        self._next_ready = 0  # first request not yet moved to the waiting queue
        self._next_ready_at = np.inf  # its ready time (kept: read once per event)
        self._waiting: deque[int] = deque()
        self._swapped: deque[int] = deque()
        self._running = np.zeros(0, dtype=np.int64)  # admission order, newest last
        self._inflight: _Iteration | None = None
        self._swap_s = 0.0  # swap time owed by the iteration being scheduled

        self._up = True
        self._loading_until = start_s if serving_at_start else start_s + self.cold_start_s
        self.cold_starts = 0 if serving_at_start else 1
        self.failures, self.preemptions, self.recomputed_tokens = 0, 0, 0
        self.iterations = 0  # iterations completed
        self._decode_pace_s = 0.01  # mean decode iteration of the last closed-form run
        # The running sequences but the last `_tail` (0 or 1) are pure decodes with their first token
        # (sampled in their last iteration); None: not known, the general scheduler runs. A sequence that
        # is not known to decode may still do so; then it runs step by step.
        self._tail: int | None = 0
        self._start_s = start_s
        self._kv_util_integral = 0.0
        self._batch_integral = 0.0

    # ---- requests -------------------------------------------------------------------------------

    def add_arrivals(
        self, arrival_s: np.ndarray, prompt_tokens: np.ndarray, output_tokens: np.ndarray
    ) -> None:
        """Queue requests (arrival times non-decreasing and not before earlier ones); ids follow on."""
        arrival = np.asarray(arrival_s, dtype=float)
        prompt = np.asarray(prompt_tokens, dtype=np.int64)
        output = np.asarray(output_tokens, dtype=np.int64)
        if arrival.size == 0:
            return
        last = self._time["arrival"][self._n - 1] if self._n else -np.inf
        if np.any(np.diff(arrival) < 0) or arrival[0] < last:
            raise ValueError("arrival times must be non-decreasing across add_arrivals calls")
        if prompt.min() < 1 or output.min() < 1:
            raise ValueError("every request needs at least one prompt token and one output token")
        hbm = self.kv.capacity["hbm"]
        too_long = np.flatnonzero(
            (self.kv.blocks_for(prompt + output) > hbm)
            | (self.kv.blocks_for(prompt) > hbm - paged.watermark_blocks(hbm))
        )
        if too_long.size:
            i = int(too_long[0])
            raise ValueError(
                f"request {self._n + i} ({prompt[i]} + {output[i]} tokens) needs more KV blocks than the "
                f"replica's {self.kv.capacity['hbm']} blocks of {self.kv.block_tokens} tokens"
            )
        ready = self._tokenized(arrival, prompt)
        self._grow(self._n + arrival.size)
        new = slice(self._n, self._n + arrival.size)
        for name, values in (("arrival", arrival), ("ready", ready)):
            self._time[name][new] = values
        for name in ("admitted", "first_token", "finish"):
            self._time[name][new] = np.nan
        self._int["prompt"][new] = prompt
        self._int["output"][new] = output
        self._int["target"][new] = prompt
        self._n += arrival.size
        self._next_ready_at = float(self._time["ready"][self._next_ready])
        self.kv.track(self._n)

    def _tokenized(self, arrival: np.ndarray, prompt: np.ndarray) -> np.ndarray:
        """Ready times through one FCFS tokenizer, r_i = max(a_i, r_{i-1}) + c_i, via cumulative sums."""
        cost = self.cpu.tokenize_s_per_token * prompt
        done = np.cumsum(cost)
        start = arrival.copy()
        start[0] = max(start[0], self._tokenizer_free)
        ready = done + np.maximum.accumulate(start - (done - cost))
        self._tokenizer_free = float(ready[-1])
        return ready

    def _grow(self, n: int) -> None:
        size = len(self._time["arrival"])
        if n <= size:
            return
        extra = max(n, 2 * size) - size
        for fields, dtype in ((self._int, np.int64), (self._time, float)):
            for name, values in fields.items():
                fields[name] = np.concatenate([values, np.zeros(extra, dtype=dtype)])

    # ---- the engine's interface -----------------------------------------------------------------

    def advance(self, t_end: float, clock_bin: int, available: bool) -> TickWork:
        """Simulate up to `t_end` at `clock_bin`; an iteration straddling `t_end` finishes next call."""
        acc = [0.0, 0.0, 0.0]  # busy, compute, memory
        loading = 0.0
        out_tokens = in_tokens = 0
        if not available:
            if self._up:
                self.fail(self.now)
            self._pass(max(0.0, t_end - self.now))
            return TickWork(0.0, 0.0, 0.0, 0, 0, 0.0, self.kv.hbm_utilisation)
        if not self._up:
            self._up = True
            self._loading_until = self.now + self.cold_start_s
            self.cold_starts += 1
        while self.now < t_end:
            if self._loading_until > self.now:
                step = min(self._loading_until, t_end) - self.now
                loading += step
                self._pass(step)
                continue
            if (
                self._inflight is None
                and self._running.size
                and not self._waiting
                and not self._swapped
                and self._next_ready_s() > self.now
            ):  # nothing to admit, swap in or pull in: what runs next is at most a pure decode
                sampled = self._decode_run(t_end, clock_bin, acc)
                if sampled:
                    out_tokens += sampled
                    continue
            it = self._inflight or self._schedule()
            if it is None:
                self._pass(min(self._next_ready_s(), t_end) - self.now)
                continue
            if self._inflight is None and it.decode_run and self._waiting and self._swap_s == 0.0:
                sampled = self._decode_run(t_end, clock_bin, acc)
                if sampled:
                    out_tokens += sampled
                    continue
            self._inflight = it
            if it.clock_bin != clock_bin:
                t, c, m = self.iteration.iteration_time(clock_bin, *it.batch)
                it.clock_bin, it.duration_s, it.compute_s, it.memory_s = clock_bin, t + it.fixed_s, c, m
            left = it.remaining * it.duration_s
            share = it.remaining if self.now + left <= t_end else (t_end - self.now) / it.duration_s
            acc[0] += share * it.duration_s
            acc[1] += share * it.compute_s
            acc[2] += share * it.memory_s
            if share < it.remaining:
                it.remaining -= share
                self._pass(t_end - self.now)
                break
            self._pass(left)
            out_tokens += self._complete(it)
            self.iterations += 1
            in_tokens += it.input_tokens
            self._inflight = None
        busy, compute, memory = acc
        return TickWork(busy, compute, memory, out_tokens, in_tokens, loading, self.kv.hbm_utilisation)

    @property
    def queued(self) -> int:
        """Requests waiting for a place in the batch: arrived and tokenized, preempted or swapped out."""
        ready = self._time["ready"][: self._n]
        arrived = int(np.searchsorted(ready, self.now, side="right")) - self._next_ready
        return len(self._waiting) + len(self._swapped) + max(arrived, 0)

    @property
    def tokens_owed(self) -> int:
        """Output tokens not yet generated, over every request added (arrived or not)."""
        n = self._n
        return int((self._int["output"][:n] - self._int["generated"][:n]).sum())

    def fail(self, t: float) -> None:
        """The replica fails at `t` (not before its clock): in-flight work and all KV are lost."""
        self._pass(max(0.0, t - self.now))
        if not self._up:
            return
        self._up, self._inflight = False, None
        self.failures += 1
        lost = np.concatenate([self._running, np.array(self._swapped, dtype=np.int64)])
        self.kv.release(lost)
        self.recomputed_tokens += int(self._int["kv_tokens"][lost].sum())
        self._int["kv_tokens"][lost] = 0
        self._int["interruptions"][lost] += 1
        self._waiting.extendleft(reversed(lost.tolist()))
        self._running = np.zeros(0, dtype=np.int64)
        self._swapped.clear()
        self._tail = 0

    # ---- scheduling -----------------------------------------------------------------------------

    def _pass(self, dt: float) -> None:
        self._kv_util_integral += self.kv.hbm_utilisation * dt
        self._batch_integral += self._running.size * dt
        self.now += dt

    def _next_ready_s(self) -> float:
        return self._next_ready_at

    def _plan(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KV tokens of each running sequence, tokens it computes this iteration (decodes first) and KV
        blocks it needs."""
        kv = self._int["kv_tokens"][ids]
        rest = self._int["target"][ids] - kv
        decode = (rest == 1) & (kv > 0)
        if decode.all():  # the common case: a pure decode step
            tokens = rest
        else:
            prefill_rest = np.where(decode, 0, rest)
            budget = self.config.max_num_batched_tokens - int(np.count_nonzero(decode))
            chunk = np.clip(budget - (np.cumsum(prefill_rest) - prefill_rest), 0, prefill_rest)
            tokens = np.where(decode, 1, chunk)
        return kv, tokens, self._need(ids, kv, tokens)

    def _plan_tail(
        self, ids: np.ndarray
    ) -> tuple[np.ndarray, int, np.ndarray, tuple[int, int, int, int] | None]:
        """`_plan` when all but the last `_tail` (≤ 1) running sequences are known to decode, with the tokens
        computed as their total; and the last one's (id, tokens, KV tokens, target), if any."""
        kv = self._int["kv_tokens"][ids]
        held, block = self.kv.held["hbm"], self.kv.block_tokens
        need = kv + block  # one token each: ceil((kv + 1) / block) blocks
        need //= block
        need -= held[ids]
        tokens, last = ids.size, None
        if self._tail:
            r, kv_r = int(ids[-1]), int(kv[-1])
            target = int(self._int["target"][r])
            if target - kv_r == 1 and kv_r > 0:  # a decode (maybe a prompt's last token)
                chunk = 1
            else:  # the only prefill: what the budget leaves after the decodes
                chunk = min(max(self.config.max_num_batched_tokens - (ids.size - 1), 0), target - kv_r)
                tokens += chunk - 1
                need[-1] = (kv_r + chunk + block - 1) // block - int(held[r])
            last = (r, chunk, kv_r, target)
        return kv, tokens, need, last

    def _need(self, ids: np.ndarray, kv: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        block = self.kv.block_tokens
        return (kv + tokens + (block - 1)) // block - self.kv.held["hbm"][ids]

    def _schedule(self) -> _Iteration | None:
        ready = self._time["ready"]
        if self._next_ready_at <= self.now:
            ready_end = int(np.searchsorted(ready[: self._n], self.now, side="right"))
            self._waiting.extend(range(self._next_ready, ready_end))
            self._next_ready = ready_end
            self._next_ready_at = float(ready[ready_end]) if ready_end < self._n else np.inf
        self._swap_s = 0.0

        # Tokens computed: per sequence in the general case, their total when all but the last are known.
        def plan() -> tuple[np.ndarray, np.ndarray | int, np.ndarray, tuple[int, int, int, int] | None]:
            if self._tail is None:
                return (*self._plan(self._running), None)
            return self._plan_tail(self._running)

        kv, tokens, need, last = plan()
        preempted = False
        while (needed := sum(need.tolist())) > self.kv.free_hbm:
            self._preempt(int(self._running[-1]))
            preempted = True
            kv, tokens, need, last = plan()
        if self._swapped and not preempted and self._swap_in(needed):
            kv, tokens, need, last = plan()
            needed = sum(need.tolist())
        prompts = []
        if isinstance(tokens, int):  # all but the last known to decode
            if self._waiting and not self._swapped:
                prompts = self._admit(tokens, needed)
            self.kv.allocate(self._running[: need.size], need, needed)
            for r, _, blocks, _ in prompts:
                self.kv.grow(r, blocks)
            return self._known_iteration(self._running, kv, last, prompts)
        if self._waiting and not self._swapped:
            prompts = self._admit(int(_sum(tokens)), needed)
            if prompts:
                need = np.concatenate([need, [p[2] for p in prompts]])
                tokens = np.concatenate([tokens, [p[1] for p in prompts]])

        ids = self._running
        self.kv.allocate(ids, need)
        active = tokens > 0
        if not active.all():
            ids, tokens = ids[active], tokens[active]
        if ids.size == 0:
            return None
        kv = self._int["kv_tokens"][ids]
        decode = (self._int["target"][ids] - kv == 1) & (kv > 0)
        decoding = int(np.count_nonzero(decode))
        if decoding == ids.size:
            samples, prefill = decoding, (0.0, 0.0, 0.0, 0.0)
        else:
            samples = int(np.count_nonzero(kv + tokens == self._int["target"][ids]))
            chunk, offset = tokens[~decode], kv[~decode]
            chunk_sum = float(chunk.sum())
            pairs = float((chunk * offset).sum() + (chunk * (chunk + 1)).sum() / 2)
            prefill = (chunk_sum, float(chunk.size), pairs, float(offset.sum()) + chunk_sum)
        batch = (*prefill, float(decoding), float(kv[decode].sum()) + decoding)
        fixed = self._swap_s + samples * self.cpu.detokenize_s_per_token
        run = decoding == ids.size == self._running.size
        return _Iteration(ids, tokens, batch, fixed, int(prefill[0]), decode_run=run)

    def _known_iteration(
        self,
        ids: np.ndarray,
        kv: np.ndarray,
        last: tuple[int, int, int, int] | None,
        prompts: list[tuple[int, int, int, int]],
    ) -> _Iteration | None:
        """The iteration of the sequences known to decode, the `last` other running one and the prompts
        just admitted (no KV yet), with the batch figures the general case computes from arrays (sums of
        integers: the same whatever the order)."""
        if ids.size == 0:
            return None
        decoders = kv[: kv.size - 1] if last else kv
        decoding, keys = decoders.size, sum(decoders.tolist())
        chunks, offset = [p[1] for p in prompts], 0
        samples = decoding + sum(p[1] == p[3] for p in prompts)
        if last:
            _, chunk, kv_r, target = last
            if target - kv_r == 1 and kv_r > 0:
                decoding += 1
                keys += kv_r
                samples += 1
            else:
                chunks.insert(0, chunk)
                offset = kv_r
                samples += kv_r + chunk == target
        decode = (float(decoding), float(keys) + decoding)
        fixed = self._swap_s + samples * self.cpu.detokenize_s_per_token
        if not chunks:
            batch = (0.0, 0.0, 0.0, 0.0, *decode)
            return _Iteration(ids, None, batch, fixed, 0, decode_run=True, decoders_kv=decoders, last=last)
        chunk_sum = sum(chunks)
        # Σ chunk·offset + Σ chunk(chunk + 1)/2: only the `last` sequence (first chunk) has KV already.
        pairs = chunks[0] * offset + sum(c * (c + 1) for c in chunks) / 2
        prefill = (float(chunk_sum), float(len(chunks)), pairs, float(offset) + chunk_sum)
        return _Iteration(
            ids, None, (*prefill, *decode), fixed, chunk_sum, decoders_kv=decoders, last=last, prompts=prompts
        )

    def _decode_run(self, t_end: float, clock_bin: int, acc: list[float]) -> int:
        """Run the coming pure-decode iterations of the running sequences in closed form; tokens sampled.

        While no request becomes ready, the tick does not end and KV blocks last, each iteration is a pure
        decode of the same sequences less those that finished (with requests waiting, only up to the first
        finish: freed blocks and seats could admit one). Iteration j holds the n_j sequences with more than
        j tokens left, over Σ (kv + j + 1) keys, so their times are one array expression, and so are the KV
        blocks in use. Ends, busy times and time integrals are added iteration by iteration in the order
        the step-by-step loop adds them (Python floats: the same IEEE double arithmetic). Runs nothing (0)
        when the next iteration is not known to be a pure decode (`_tail` 0) or straddles `t_end`. The
        next iteration's blocks may already be allocated (by `_schedule`): every held count is set afresh.
        """
        # Less than half an iteration of the tick left: the next one straddles its end (were it shorter, it
        # would run step by step, to the same result).
        if self._tail != 0 or self.now + 0.5 * self._decode_pace_s > t_end:
            return 0
        ids, i = self._running, self._int
        kv0 = i["kv_tokens"][ids]
        left = i["output"][ids] - i["generated"][ids]
        n = ids.size
        kv_list, left_list = kv0.tolist(), left.tolist()
        shortest = min(left_list)
        most = min(shortest if self._waiting else max(left_list), _RUN_LIMIT)
        next_ready = self._next_ready_s()
        detokenize = self.cpu.detokenize_s_per_token
        # Evaluate as many iterations as the horizon likely holds at the last run's pace (with a margin), more
        # if short.
        limit = min(most, int(1.25 * (min(t_end, next_ready) - self.now) / self._decode_pace_s) + 2)
        kv_total = sum(kv_list)
        while True:
            seqs, keys = _decode_shapes(n, kv_total, kv0, left, shortest, limit)
            if limit <= _SCALAR_RUN:
                k, ends, durations, c, m = self._scalar_ends(clock_bin, seqs, keys, t_end, next_ready)
            else:
                t, c, m = self.iteration.decode_times(clock_bin, seqs, keys)
                k, ends, durations = _ends(self.now, t, seqs, detokenize, t_end, next_ready)
            if k < limit or limit == most:
                break
            limit = min(most, 4 * limit)
        if k == 0:
            return 0
        # HBM blocks in use while iteration j runs: what else holds blocks, plus ceil((kv + j + 1) / block)
        # of each sequence still running; a preemption would be due at the first j over capacity.
        held, block = self.kv.held["hbm"], self.kv.block_tokens
        other = self.kv.used["hbm"] - sum(held[ids].tolist())
        capacity = self.kv.capacity["hbm"]
        if k <= _SHORT_RUN:
            used = _blocks_in_use(kv_list, left_list, k, block, other)
            peak = max(used)
            if peak > capacity:
                k = next(j for j, u in enumerate(used) if u > capacity)
                if k == 0:
                    return 0
                used = used[:k]
                peak = max(used)
        else:
            steps = np.arange(1, k + 1)
            grid = (kv0[:, None] + (steps + (block - 1))) // block
            if shortest < k:  # sequences that finished hold nothing
                grid *= left[:, None] >= steps
            used = np.add.reduce(grid, axis=0)
            used += other
            peak = int(used.max())
            if peak > capacity:
                k = int(np.argmax(used > capacity))
                if k == 0:
                    return 0
                used = used[:k]
                peak = int(used.max())
        now = self.now
        self.now = float(ends[k - 1])
        self._decode_pace_s = (self.now - now) / k
        self.kv.peak_hbm_used = max(self.kv.peak_hbm_used, peak)

        # Busy times and time integrals, each added iteration by iteration as _pass and advance do.
        sums = (*acc, self._kv_util_integral, self._batch_integral)
        if k <= _SHORT_RUN:
            busy, compute, memory, kv_integral, batch_integral = sums
            if isinstance(seqs, np.ndarray):  # a long window that ran short
                seqs, durations = seqs.tolist(), durations.tolist()
            if isinstance(c, np.ndarray):
                c, m = c.tolist(), m.tolist()
            if isinstance(used, np.ndarray):
                used = used.tolist()
            rows = zip(durations[:k], c[:k], m[:k], used, seqs[:k], strict=True)
            for d, c_j, m_j, u_j, n_j in rows:
                busy += d
                compute += c_j
                memory += m_j
                kv_integral += u_j / capacity * d
                batch_integral += n_j * d
            sums = busy, compute, memory, kv_integral, batch_integral
        else:
            rows = np.empty((5, k + 1))
            rows[:, 0] = sums
            rows[0, 1:], rows[1, 1:], rows[2, 1:] = durations[:k], c[:k], m[:k]
            np.multiply(used / capacity, durations[:k], out=rows[3, 1:])
            np.multiply(seqs[:k], durations[:k], out=rows[4, 1:])
            sums = np.cumsum(rows, axis=1)[:, -1].tolist()
        acc[:], self._kv_util_integral, self._batch_integral = sums[:3], sums[3], sums[4]

        # Every sequence decoding here has its first token already (`_tail` 0).
        ran = k if shortest >= k else np.minimum(left, k)
        kv = kv0 + ran
        i["kv_tokens"][ids] = kv
        i["generated"][ids] += ran
        i["target"][ids] = kv + 1
        blocks = (kv + (block - 1)) // block
        self.iterations += k
        sampled = int(sum(seqs[:k])) if isinstance(seqs, list) else int(_sum(seqs[:k]))
        if shortest > k:  # all still running: the blocks in use in the last iteration
            held[ids] = blocks
            self.kv.used["hbm"] = int(used[-1])
            return sampled
        finished = left <= k
        blocks[finished] = 0  # a finished sequence frees its blocks (it holds none in DRAM or on SSD)
        held[ids] = blocks
        self.kv.used["hbm"] = other + sum(blocks.tolist())
        self._time["finish"][ids[finished]] = [ends[g - 1] for g in left_list if g <= k]
        self._running = ids[~finished]
        return sampled

    def _scalar_ends(
        self, clock_bin: int, seqs: list[int], keys: list[int], t_end: float, next_ready: float
    ) -> tuple[int, list[float], list[float], list[float], list[float]]:
        """`_ends` of a short window, its iterations' times evaluated one by one (`decode_time`) until the
        first that does not run; and the compute and memory busy times of those that do."""
        ends: list[float] = []
        durations: list[float] = []
        compute: list[float] = []
        memory: list[float] = []
        end, detokenize = self.now, self.cpu.detokenize_s_per_token
        time = self.iteration.decode_timer(clock_bin)
        for n_j, keys_j in zip(seqs, keys, strict=True):
            if ends and end >= next_ready:
                break
            t_j, c_j, m_j = time(n_j, keys_j)
            duration = t_j + n_j * detokenize
            end += duration
            if end > t_end:
                break
            ends.append(end)
            durations.append(duration)
            compute.append(c_j)
            memory.append(m_j)
        return len(ends), ends, durations, compute, memory

    def _admit(self, tokens: int, need: int) -> list[tuple[int, int, int, int]]:
        """Admit waiting requests FCFS while the token budget (less the running sequences' `tokens`), seats
        and free KV blocks (less the running sequences' `need`) last; (id, chunk, blocks, prompt) each."""
        budget = self.config.max_num_batched_tokens - tokens
        seats = self.config.max_num_seqs - self._running.size
        free = self.kv.free_hbm - need
        block, hbm, chunked = self.kv.block_tokens, self.kv.capacity["hbm"], self.config.chunked_prefill
        target, admitted_s = self._int["target"], self._time["admitted"]
        has_prefill = False  # without chunking, running sequences never have prefill left
        prompts = []
        while self._waiting and seats > 0:
            r = self._waiting[0]
            length = int(target[r])
            if chunked:
                chunk = min(length, budget)
            elif length <= budget or not has_prefill:
                chunk = length
            else:
                chunk = 0
            blocks = (chunk + block - 1) // block
            # vLLM's gate: the rest of the prompt fits and leaves the watermark free (paged.py).
            if chunk <= 0 or not paged.admits(free, (length + block - 1) // block, hbm):
                break
            self._waiting.popleft()
            if admitted_s[r] != admitted_s[r]:  # NaN: first admission
                admitted_s[r] = self.now
            prompts.append((r, chunk, blocks, length))
            budget -= chunk
            seats -= 1
            free -= blocks
            has_prefill = True
        if prompts:
            self._tail = None
            self._running = np.concatenate([self._running, [p[0] for p in prompts]])
        return prompts

    def _preempt(self, victim: int) -> None:
        """Take the newest running sequence out: offload its KV, or drop it to be recomputed."""
        self._running = self._running[:-1]
        if self._tail:  # the newest was the one not known to decode
            self._tail = 0
        self._int["preemptions"][victim] += 1
        self.preemptions += 1
        if self.config.preemption == "offload":
            seconds = self.kv.offload(victim)
            if seconds is not None:
                self._swap_s += seconds
                self._swapped.append(victim)
                return
        self.kv.release(np.array([victim]))
        self.recomputed_tokens += int(self._int["kv_tokens"][victim])
        self._int["kv_tokens"][victim] = 0
        self._waiting.appendleft(victim)

    def _swap_in(self, needed: int) -> bool:
        """Bring offloaded sequences back FCFS while their blocks and next growth fit; any back?"""
        restored = False
        while self._swapped and self._running.size < self.config.max_num_seqs:
            r = self._swapped[0]
            blocks = self.kv.offloaded_blocks(r)
            kv = int(self._int["kv_tokens"][r])
            step = min(int(self._int["target"][r]) - kv, self.config.max_num_batched_tokens)
            grow = max(int(self.kv.blocks_for(kv + step)) - blocks, 0)  # at most what it can compute now
            if not paged.admits(self.kv.free_hbm - needed, blocks + grow, self.kv.capacity["hbm"]):
                break
            self._swap_s += self.kv.restore(r)
            self._swapped.popleft()
            self._running = np.append(self._running, r)
            needed += grow
            restored, self._tail = True, None
        return restored

    def _complete(self, it: _Iteration) -> int:
        """Apply a finished iteration at `now`: KV grows, sequences sample, finished ones leave."""
        if it.decoders_kv is not None:
            return self._complete_known(it, it.decoders_kv)
        ids = it.ids
        kv, target, generated = self._int["kv_tokens"], self._int["target"], self._int["generated"]
        kv[ids] += it.tokens
        sampled = ids[kv[ids] == target[ids]]
        generated[sampled] += 1
        target[sampled] += 1
        first = sampled[np.isnan(self._time["first_token"][sampled])]
        self._time["first_token"][first] = self.now
        done = sampled[generated[sampled] >= self._int["output"][sampled]]
        if done.size:
            self._time["finish"][done] = self.now
            self.kv.release(done)
            running = self._running  # only the sequences just done have generated all their output
            self._running = running[generated[running] < self._int["output"][running]]
        unsampled = self._running.size - (sampled.size - done.size)
        if unsampled == 0:
            self._tail = 0
        elif unsampled == 1 and not (sampled == self._running[-1]).any():
            self._tail = 1
        else:
            self._tail = None
        return int(sampled.size)

    def _complete_known(self, it: _Iteration, kv0: np.ndarray) -> int:
        """`_complete` of an iteration from `_known_iteration`, with the same updates: the decoders (each
        samples, and has its first token) as arrays with their KV known, the others one by one."""
        i = self._int
        kv, target, generated, output = i["kv_tokens"], i["target"], i["generated"], i["output"]
        first = self._time["first_token"]
        n = kv0.size
        decoders = it.ids[:n]
        kv[decoders] = kv0 + 1
        target[decoders] = kv0 + 2
        gen = generated[decoders] + 1
        generated[decoders] = gen
        keep = gen < output[decoders]
        done = decoders[~keep].tolist() if False in keep.tolist() else []
        stay, self._tail = [], 0
        others = [(p[0], p[1]) for p in it.prompts]
        if it.last:
            others.insert(0, it.last[:2])
        for r, tokens in others:  # Python ints: NumPy scalars cost more per operation
            kv_r, target_r = int(kv[r]) + tokens, int(target[r])
            kv[r] = kv_r
            if kv_r < target_r:  # part of a prompt (the newest running sequence): nothing sampled
                stay.append(True)
                self._tail = 1
                continue
            n += 1
            g = int(generated[r]) + 1
            generated[r] = g
            target[r] = target_r + 1
            if first[r] != first[r]:  # NaN: the request's first token
                first[r] = self.now
            stay.append(g < int(output[r]))
            if not stay[-1]:
                done.append(r)
        if done:
            self._time["finish"][done] = self.now
            self.kv.release(np.array(done))
            self._running = self._running[np.concatenate([keep, stay]) if stay else keep]
        return n

    # ---- results --------------------------------------------------------------------------------

    def records(self) -> RequestRecords:
        n, t, i = self._n, self._time, self._int
        return RequestRecords(
            replica=self.replica,
            arrival_s=t["arrival"][:n].copy(),
            admitted_s=t["admitted"][:n].copy(),
            first_token_s=t["first_token"][:n].copy(),
            finish_s=t["finish"][:n].copy(),
            prompt_tokens=i["prompt"][:n].copy(),
            output_tokens=i["output"][:n].copy(),
            preemptions=i["preemptions"][:n].copy(),
            interruptions=i["interruptions"][:n].copy(),
        )

    def stats(self) -> ReplicaStats:
        elapsed = self.now - self._start_s
        return ReplicaStats(
            replica=self.replica,
            simulated_s=elapsed,
            cold_starts=self.cold_starts,
            cold_start_s=self.cold_start_s,
            failures=self.failures,
            preemptions=self.preemptions,
            recomputed_tokens=self.recomputed_tokens,
            kv_utilisation_mean=self._kv_util_integral / elapsed if elapsed > 0 else 0.0,
            kv_utilisation_peak=self.kv.peak_hbm_used / self.kv.capacity["hbm"],
            kv_capacity_blocks=self.kv.capacity["hbm"],
            bytes_moved=dict(self.kv.bytes_moved),
            batch_mean=self._batch_integral / elapsed if elapsed > 0 else 0.0,
            cold_start_stages=self.startup.as_dict(),
        )
