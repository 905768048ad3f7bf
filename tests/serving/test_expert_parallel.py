"""Expert-parallel MoE serving in the loop: memory, straggler GPUs, and routers that route around them."""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.catalog import gpu
from gigawatt.engine import Engine
from gigawatt.scenario import Scenario, SteadyServing
from gigawatt.summary import summarize
from gigawatt.workload.serving.steady import WorkloadError, build_profile
from helpers import example_dict, scenario, with_changes


def moe_workload(**changes) -> SteadyServing:
    base = dict(
        model="deepseek-v3",
        precision="fp8",
        batch_size=32,
        prompt_tokens=1024,
        output_tokens=256,
        demand=0.7,
        moe=dict(expert_parallel=16, redundant_experts=16),
    )
    return SteadyServing.model_validate({**base, **changes})


def test_deepseek_v3_fp8_fits_16_h100_but_not_8():
    profile = build_profile(moe_workload(), gpu("H100-SXM"), 8)
    assert 55e9 < profile.memory_per_gpu < 72e9  # ~60 GB of weights per GPU + KV
    assert np.all(profile.cycle_expert > 0) and np.all(profile.cycle_expert < profile.cycle_time)
    with pytest.raises(WorkloadError, match="raise expert_parallel"):
        build_profile(moe_workload(moe=dict(expert_parallel=8, redundant_experts=0)), gpu("H100-SXM"), 8)


def test_expert_parallel_group_produces_one_batch_per_gpu():
    profile = build_profile(moe_workload(), gpu("H100-SXM"), 8)
    assert profile.tokens_per_cycle == 16 * 32 * 256


def test_moe_needs_a_moe_model():
    with pytest.raises(ValueError, match="dense model"):
        moe_workload(model="llama-3.1-8b", precision="bf16")


def run(**changes):
    result = Engine(scenario("moe-deepseek-v3", **changes)).run()
    return result, summarize(result)


def test_expert_loads_average_one_and_follow_the_skew():
    result, s = run(duration="2 min", **{"cooling.events": []})
    assert result.workload.load is not None
    loads = result.workload.load.reshape(2, 16)
    assert loads.mean(axis=1) == pytest.approx([1.0, 1.0])
    assert 0.8 < s["moe"]["balancedness_mean"] < 1.0


def test_a_throttled_gpu_slows_its_whole_expert_parallel_group():
    _, healthy = run(**{"cooling.events": []})
    _, degraded = run()
    assert degraded["throttle_fraction"]["thermal"] > 0.01
    assert degraded["throughput_tokens_per_s"] < 0.95 * healthy["throughput_tokens_per_s"]
    phase = degraded["phases"][0]
    # Held at its limit to within a clock bin: behind a degraded (x13) die-to-case interface one 15 MHz bin
    # moves the junction by more than a kelvin, so the highest bin that keeps 87 C may sit up to ~1.5 K under.
    assert phase["max_gpu_temp_c"]["during"] >= 85.5 > phase["max_gpu_temp_c"]["before"]


def test_availability_aware_routing_recovers_part_of_the_loss():
    _, healthy = run(**{"cooling.events": []})
    _, topk = run()
    _, two_stage = run(
        **{"workload.moe.router": "two_stage", "workload.moe.router_options": {"alpha": 0.5, "shortlist": 16}}
    )
    lost = healthy["throughput_tokens_per_s"] - topk["throughput_tokens_per_s"]
    recovered = two_stage["throughput_tokens_per_s"] - topk["throughput_tokens_per_s"]
    assert lost > 0 and recovered > 0.2 * lost


def test_degraded_thermal_interface_heats_only_its_gpu():
    result, _ = run(duration="8 min")
    temps = np.asarray(result.timeseries.column("DCGM_FI_DEV_GPU_TEMP")).reshape(-1, 32)[-1]
    assert temps[3] >= 85.5 and np.delete(temps, 3).max() < 70  # at its limit to within a clock bin (above)


def test_variants_must_be_valid_and_distinct():
    data = with_changes(
        example_dict("moe-deepseek-v3"), variants=[{"label": "a", "set": {}}, {"label": "a", "set": {}}]
    )
    with pytest.raises(ValueError, match="unique"):
        Scenario.model_validate(data)


def test_node_limited_routing_cuts_inter_node_all_to_all_time():
    times = []
    for limit in (None, 4, 1):
        w = moe_workload(moe=dict(expert_parallel=64, node_limit=limit))
        times.append(build_profile(w, gpu("H100-SXM"), 8).cycle_time[-1])
    assert times[0] > times[1] > times[2]


def test_expert_parallel_groups_must_span_whole_nodes():
    with pytest.raises(ValueError, match="multiple or a divisor of gpus_per_node"):
        scenario(
            "moe-deepseek-v3",
            **{
                "workload.moe.expert_parallel": 12,
                "workload.moe.redundant_experts": 4,
                "cluster.nodes": 12,
                "cluster.nodes_per_rack": 4,
            },
        )
