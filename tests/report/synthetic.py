"""Synthetic engine outputs for report tests: a cooling fault heats the dies, clocks drop, output falls."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def synthetic_timeseries(n_gpus: int, n_intervals: int, interval_s: float = 1.0, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_intervals + 1) * interval_s
    heat = np.clip((t - 0.4 * t[-1]) / (0.2 * t[-1]), 0, 1)[:, None]  # cooling fault ramps in mid-run
    temp = 62 + 25 * heat + rng.normal(0, 2.5, (n_intervals, n_gpus))
    clock = np.where(temp > 85, 1410 - 20 * (temp - 85), 1980) - rng.uniform(0, 30, (n_intervals, n_gpus))
    flags = np.where(temp > 85, 0x20, 0) | np.where(rng.random((n_intervals, n_gpus)) < 0.1, 0x4, 0)
    power = 600 + 100 * rng.random((n_intervals, n_gpus)) - 150 * (temp > 85)
    gpu = np.tile(np.arange(n_gpus), n_intervals)
    return pa.table(
        {
            "time_s": np.repeat(t, n_gpus),
            "DCGM_FI_DEV_POWER_USAGE": power.ravel(),
            "DCGM_FI_DEV_GPU_TEMP": temp.ravel(),
            "DCGM_FI_DEV_SM_CLOCK": clock.ravel(),
            "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": flags.ravel().astype(np.int64),
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": (np.cumsum(power, axis=0) * interval_s * 1e3).ravel(),
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE": rng.uniform(0.7, 1.0, n_intervals * n_gpus),
            "DCGM_FI_DEV_XID_ERRORS": np.zeros(n_intervals * n_gpus, dtype=np.int64),
            "gpu": gpu,
            "Hostname": pa.DictionaryArray.from_arrays(
                pa.array(gpu // 8, pa.int32()), pa.array([f"node-{i:05d}" for i in range(n_gpus // 8 + 1)])
            ),
        }
    )


def synthetic_facility(timeseries: pa.Table, rack_budget_kw: float | None, n_cdus: int = 2) -> pa.Table:
    time_s, inverse = np.unique(timeseries.column("time_s").to_numpy(), return_inverse=True)
    gpu_kw = np.bincount(inverse, weights=timeseries.column("DCGM_FI_DEV_POWER_USAGE").to_numpy()) / 1e3
    temp_max = np.zeros(len(time_s))
    np.maximum.at(temp_max, inverse, timeseries.column("DCGM_FI_DEV_GPU_TEMP").to_numpy())
    n_racks = max(1, timeseries.num_rows // len(time_s) // 32)
    demand = np.full(len(time_s), 40_000.0)
    output = np.minimum(demand, 40_000 * (1 - 0.3 * (temp_max > 88)))
    columns = {
        "time_s": time_s,
        "output_tokens_per_s": output,
        "demand_tokens_per_s": demand,
        "backlog_tokens": np.cumsum(demand - output),
        "it_power_kw": gpu_kw * 1.4,
        "facility_power_kw": gpu_kw * 1.4 * 1.25,
        "gpu_power_kw": gpu_kw,
        "rack_power_max_kw": gpu_kw * 1.4 * 1.1 / n_racks,
        "rack_budget_kw": np.full(len(time_s), np.nan if rack_budget_kw is None else rack_budget_kw),
        "gpu_temp_max_c": temp_max,
        "gpus_down": (temp_max > 92).astype(float),
    }
    rise = np.clip((time_s - 0.4 * time_s[-1]) / (0.2 * time_s[-1]), 0, 1)
    columns |= {f"cdu{i}_supply_c": 30 + 8 * rise + i for i in range(n_cdus)}
    columns |= {"zone0_supply_c": 25 + 2 * rise}
    return pa.table(columns)


def synthetic_events(duration_s: float) -> pa.Table:
    kinds = [
        "throttle_start",
        "throttle_start",
        "pump_failure",
        "thermal_shutdown",
        "thermal_shutdown",
        "throttle_stop",
        "node_reset",
        "recovered",
        "pump_failure_end",
    ]
    times = np.array([0.45, 0.45, 0.40, 0.62, 0.62, 0.80, 0.70, 0.85, 0.90]) * duration_s
    return pa.table(
        {
            "time_s": pa.array(times, pa.float64()),
            "kind": pa.array(kinds, pa.string()),
            "scope": pa.array(["gpu", "gpu", "cdu", "gpu", "gpu", "gpu", "node", "gpu", "facility"]),
            "index": pa.array([3, 4, 0, 3, 9, 4, 1, 3, 0], pa.int64()),
            "detail": pa.array(
                [
                    "SwThermalSlowdown",
                    "SwThermalSlowdown",
                    "until 270 s",
                    "die at 92 C",
                    "die at 92 C",
                    "SwThermalSlowdown",
                    "sag to 60% for 0.5 s outside ITIC",
                    "",
                    "",
                ]
            ),
        }
    )


def empty_events() -> pa.Table:
    return pa.table(
        {
            "time_s": pa.array([], pa.float64()),
            "kind": pa.array([], pa.string()),
            "scope": pa.array([], pa.string()),
            "index": pa.array([], pa.int64()),
            "detail": pa.array([], pa.string()),
        }
    )


def synthetic_summary(n_gpus: int, duration_s: float, rack_budget_kw: float | None) -> dict:
    return {
        "scenario": "synthetic-cooling-fault",
        "description": "A CDU pump fails mid-run & the dies heat up <test>.",
        "seed": 7,
        "duration_s": duration_s,
        "gpus": n_gpus,
        "gpu_model": "H100-SXM",
        "model": "llama-70b",
        "tensor_parallel": 8,
        "replicas": n_gpus // 8,
        "throughput_tokens_per_s": 36_500.2,
        "demand_tokens_per_s": 40_000.0,
        "energy_j_per_token": 1.84,
        "gpu_power_w": {"mean": 612.3, "max": 700.0},
        "facility_power_kw": {"mean": 1071.5, "max": 1225.0},
        "it_power_kw": {"mean": 857.2, "max": 980.0},
        "pue": 1.25,
        "max_gpu_temp_c": 93.1,
        "throttle_fraction": {"power": 0.1, "thermal": 0.31, "power_brake": 0.0},
        "errors": 3,
        "chain": "cooling 43% of heat → 31% GPU-time thermally throttled → −18% tokens/s → 3 shutdowns",
        "limits": {
            "gpu_power_limit_w": 700.0,
            "rack_budget_kw": rack_budget_kw,
            "temp_max_operating_c": 85.0,
            "temp_slowdown_c": 90.0,
            "temp_shutdown_c": 92.0,
        },
    }
