"""Serving metrics from the per-request records of all replicas, and the `requests.parquet` table.

TTFT = first token − arrival; TPOT = (finish − first token) / (output − 1), undefined for one output
token; E2E = finish − arrival; queueing delay = first scheduled − arrival (tokenization included).
Latency percentiles cover finished requests. Goodput counts finished requests whose TTFT and TPOT
both meet their limits (a one-token request meets any TPOT limit), per second of `duration_s`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from gigawatt.workload.serving.replica import ReplicaStats, RequestRecords

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0}


def percentiles(values: np.ndarray) -> dict[str, float]:
    """p50/p90/p99 of the finite values; NaN when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return dict.fromkeys(PERCENTILES, float("nan"))
    return {
        key: float(v)
        for key, v in zip(PERCENTILES, np.percentile(finite, list(PERCENTILES.values())), strict=True)
    }


def _concat(records: Sequence[RequestRecords], field: str) -> np.ndarray:
    return np.concatenate([getattr(r, field) for r in records]) if records else np.zeros(0)


def latencies(records: Sequence[RequestRecords]) -> dict[str, np.ndarray]:
    """Per-request TTFT, TPOT, E2E and queueing delay (s), concatenated over replicas."""
    arrival, first = _concat(records, "arrival_s"), _concat(records, "first_token_s")
    finish, output = _concat(records, "finish_s"), _concat(records, "output_tokens")
    decode_steps = output - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(decode_steps > 0, (finish - first) / decode_steps, np.nan)
    return {
        "ttft_s": first - arrival,
        "tpot_s": tpot,
        "e2e_s": finish - arrival,
        "queueing_s": _concat(records, "admitted_s") - arrival,
    }


def summarize(
    records: Sequence[RequestRecords],
    stats: Sequence[ReplicaStats],
    duration_s: float,
    ttft_slo_s: float,
    tpot_slo_s: float,
    energy_j: float | None = None,
) -> dict[str, Any]:
    """Headline serving metrics over `duration_s`; `energy_j` (from the engine) gives J per output token."""
    lat = latencies(records)
    finished = np.isfinite(_concat(records, "finish_s"))
    output = _concat(records, "output_tokens")
    meets = finished & (lat["ttft_s"] <= ttft_slo_s) & ~(lat["tpot_s"] > tpot_slo_s)
    output_tokens = float(output[finished].sum())
    moved = {
        key: float(sum(s.bytes_moved[key] for s in stats)) for key in (stats[0].bytes_moved if stats else {})
    }
    return {
        "requests": int(finished.size),
        "finished_requests": int(finished.sum()),
        "ttft_s": percentiles(lat["ttft_s"][finished]),
        "tpot_s": percentiles(lat["tpot_s"][finished]),
        "e2e_s": percentiles(lat["e2e_s"][finished]),
        "queueing_s": percentiles(lat["queueing_s"][finished]),
        "input_tokens_per_s": float(_concat(records, "prompt_tokens")[finished].sum()) / duration_s,
        "output_tokens_per_s": output_tokens / duration_s,
        "goodput_requests_per_s": float(meets.sum()) / duration_s,
        "slo": {"ttft_s": ttft_slo_s, "tpot_s": tpot_slo_s},
        "kv_utilisation_mean": float(np.mean([s.kv_utilisation_mean for s in stats])) if stats else 0.0,
        "kv_utilisation_peak": max((s.kv_utilisation_peak for s in stats), default=0.0),
        "bytes_offloaded": moved,
        "preemptions": int(sum(s.preemptions for s in stats)),
        "recomputed_tokens": int(sum(s.recomputed_tokens for s in stats)),
        "cold_starts": int(sum(s.cold_starts for s in stats)),
        "cold_start_s": max((s.cold_start_s for s in stats), default=0.0),
        "cold_start_stages_s": dict(stats[0].cold_start_stages) if stats else {},
        "energy_j_per_output_token": (
            energy_j / output_tokens if energy_j is not None and output_tokens > 0 else None
        ),
    }


def requests_table(records: Sequence[RequestRecords]) -> pa.Table:
    """One row per request, for `requests.parquet`; times in s from the start of the run."""
    lat = latencies(records)
    replica = np.concatenate([np.full(r.arrival_s.size, r.replica, dtype=np.int32) for r in records])
    request = np.concatenate([np.arange(r.arrival_s.size, dtype=np.int64) for r in records])
    columns: dict[str, np.ndarray] = {
        "replica": replica,
        "request": request,
        "arrival_s": _concat(records, "arrival_s"),
        "admitted_s": _concat(records, "admitted_s"),
        "first_token_s": _concat(records, "first_token_s"),
        "finish_s": _concat(records, "finish_s"),
        "prompt_tokens": _concat(records, "prompt_tokens"),
        "output_tokens": _concat(records, "output_tokens"),
        "preemptions": _concat(records, "preemptions"),
        "interruptions": _concat(records, "interruptions"),
        **lat,
    }
    # NaN (not yet happened / undefined) becomes null in Parquet.
    return pa.table({k: pa.array(v, from_pandas=v.dtype.kind == "f") for k, v in columns.items()})
