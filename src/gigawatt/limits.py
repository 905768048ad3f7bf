"""What a run will cost, estimated from the scenario alone, and refused before anything is allocated when
it is over a limit the user can raise.

The coefficients are rough upper figures, not promises: memory per GPU, per recorded row and per request
from tracemalloc peaks of short runs on the development machine (about 250 B per GPU of engine state,
155 B per timeseries row, 190 B per request) with room for NumPy temporaries and Arrow copies at write
time; time from the README's benchmarks on a 2-core machine (10⁷ GPU-ticks/s, 1,200 requests/s) and
about 0.3 ms of per-tick work in the loop.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gigawatt.scenario import Scenario

BYTES_PER_GPU = 1_000
BYTES_PER_ROW = 400  # a timeseries row, held in the recorder and again as an Arrow table
BYTES_PER_FACILITY_ROW = 2_000  # a dict of a couple of dozen floats per recording interval
BYTES_PER_REQUEST = 1_000  # arrival arrays and the replica's per-request record
REPORT_BYTES = 6_000_000  # the HTML report and plotly.js (about 4.6 MB, shared or inlined)
SECONDS_PER_TICK = 3e-4
# Ticks computed in full: bench/bench_engine.py's throttled stretch costs ~226 fused passes of ~9.3 µs on
# 16,384 GPUs (8×10⁶ GPU-ticks/s); bench/bench_campus.py's first full ticks ~107 ms of CPU on 1,048,576
# (1.0×10⁷). Ticks that repeat the last one (gigawatt.fixed_point) cost far less (bench_engine's 24 h:
# 1.0×10⁸ overall), but whether a run settles is not known beforehand: the full-tick rate is taken.
SECONDS_PER_GPU_TICK = 1 / 1e7
# Training keeps per-GPU clocks, phases and step times every tick: 1.1×10⁷ GPU-ticks/s measured for
# Llama-3.1-405B on 16,384 GPUs (bench/bench_engine.py --workload training), 5.6×10⁶ with other work beside
# it on the same machine; the slower figure is taken, as the other coefficients are upper figures.
SECONDS_PER_GPU_TICK_BY_KIND = {"training": 1 / 5e6}
SECONDS_PER_REQUEST = 1 / 1_200
SECONDS_PER_REPLICA_TICK = 2e-5  # request level: each replica advanced in Python every tick
MIN_TRACE_ROW_BYTES = 24  # "2023-11-16 18:15:46,1,1" and a newline
ARRIVALS_HEADROOM = 1.3  # Poisson and bursty arrivals draw 1.3 × rate × duration (+20) to pass the end

DEFAULT_MAX_MEMORY = 16e9
DEFAULT_MAX_TIME = 3_600.0


@dataclass(frozen=True)
class Limits:
    """Upper bounds on a run, raised with `gigawatt run --max-memory / --max-time`."""

    memory_bytes: float = DEFAULT_MAX_MEMORY
    time_s: float = DEFAULT_MAX_TIME


@dataclass(frozen=True)
class Estimate:
    gpu_ticks: int
    requests: float
    rows: int  # timeseries rows
    memory_bytes: float
    time_s: float
    results_bytes: float


class LimitError(ValueError):
    """A scenario whose estimated cost exceeds a limit; the message gives the estimate and what to change."""


def _requests(sc: Scenario) -> float:
    """Requests the run will hold: drawn arrivals, or the rows of a trace (at most `limit` of them), the
    trace's counted from its size: a row is at least MIN_TRACE_ROW_BYTES long."""
    arrivals = getattr(sc.workload, "arrivals", None)
    if arrivals is None:
        return 0.0
    if arrivals.kind == "trace":
        try:
            rows = os.stat(arrivals.path).st_size // MIN_TRACE_ROW_BYTES
        except (OSError, TypeError, ValueError):
            rows = 0  # the reader names the problem
        return float(rows if arrivals.limit is None else min(rows, arrivals.limit))
    return arrivals.rate * sc.ticks * sc.tick * ARRIVALS_HEADROOM + 20


def estimate(sc: Scenario) -> Estimate:
    """The cost of running one scenario (no variants), from its sizes alone; plain Python arithmetic, so
    any size the scenario allows gives a finite (if huge) figure."""
    cl, rec = sc.cluster, sc.recording
    gpus, ticks = cl.gpus, sc.ticks
    per_row = {"gpu": 1, "node": cl.gpus_per_node, "rack": cl.gpus_per_node * cl.nodes_per_rack}[rec.level]
    intervals = math.ceil(sc.duration / rec.interval)
    rows = gpus // per_row * intervals
    requests = _requests(sc)
    memory = (
        gpus * BYTES_PER_GPU
        + rows * BYTES_PER_ROW
        + intervals * BYTES_PER_FACILITY_ROW
        + requests * BYTES_PER_REQUEST
    )
    per_gpu_tick = SECONDS_PER_GPU_TICK_BY_KIND.get(sc.workload.kind, SECONDS_PER_GPU_TICK)
    time_s = ticks * SECONDS_PER_TICK + gpus * ticks * per_gpu_tick + requests * SECONDS_PER_REQUEST
    if getattr(sc.workload, "resolution", None) == "request":  # a Python loop over replicas every tick
        w = sc.workload
        time_s += gpus // (w.tensor_parallel * w.pipeline_parallel) * ticks * SECONDS_PER_REPLICA_TICK
    results = REPORT_BYTES + rows * 40 + requests * 40  # compressed Parquet, generously
    return Estimate(gpus * ticks, requests, rows, float(memory), float(time_s), float(results))


def _human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size / 10:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.1f} kB"


def _human_time(s: float) -> str:
    for unit, size in (("years", 3.156e7), ("days", 86_400), ("h", 3_600), ("min", 60)):
        if s >= size:
            return f"{s / size:,.1f} {unit}"
    return f"{s:.0f} s"


def check(runs: list[tuple[str, Scenario]], limits: Limits) -> Estimate:
    """The estimate of a scenario and its variants together (their results are all held until written),
    or LimitError naming what is over its limit and the settings that change it."""
    parts = [estimate(sc) for _, sc in runs]
    est = Estimate(*(sum(getattr(p, f) for p in parts) for f in Estimate.__dataclass_fields__))
    name = runs[0][1].name
    what = name if len(runs) == 1 else f"{name} and its {len(runs) - 1} variant(s)"
    sizes = f"{est.gpu_ticks:,} GPU-ticks, {est.rows:,} timeseries rows, {est.requests:,.0f} requests"
    levers = "fewer nodes, a shorter duration, a longer tick or recording.interval, fewer requests"
    if est.memory_bytes > limits.memory_bytes:
        raise LimitError(
            f"{what} would need about {_human_bytes(est.memory_bytes)} of memory ({sizes}), more than "
            f"the limit of {_human_bytes(limits.memory_bytes)}; shrink it ({levers}) or raise --max-memory"
        )
    if est.time_s > limits.time_s:
        raise LimitError(
            f"{what} would take about {_human_time(est.time_s)} to simulate ({sizes}), more than the "
            f"limit of {_human_time(limits.time_s)}; shrink it ({levers}) or raise --max-time"
        )
    return est
