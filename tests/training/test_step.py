"""Step-time arithmetic of synchronous 4D-parallel training against hand-computed cases and invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gigawatt.catalog import gpu
from gigawatt.hardware.collectives import Link
from gigawatt.hardware.fabric import Fabric, members_within, nic
from gigawatt.scenario import Training
from gigawatt.workload.training.configs import (
    Configs,
    configs_of,
    edge_stage_layers,
    job_of,
    layers_per_stage,
)
from gigawatt.workload.training.flops import model_flops_per_token
from gigawatt.workload.training.step import step_model

H100 = gpu("H100-SXM")


def training(**changes) -> Training:
    spec = {
        "kind": "training",
        "model": "Llama-3.1-70B",
        "sequence_length": 4096,
        "global_batch_sequences": 256,
        "parallel": {"tensor": 8, "pipeline": 4, "data": 8},
    }
    spec.update(changes)
    return Training.model_validate(spec)


def model_of(w: Training, clocks=(1980.0,)):
    return step_model(job_of(w, H100, 8), configs_of(w), np.asarray(clocks))


def test_pipeline_time_is_the_1f1b_formula_for_equal_stages():
    # (m + p − 1) · T for v = 1, and m·T + (p − 1)·T / v with v virtual stages (Narayanan et al. 2021).
    sm = model_of(training())
    m, p, t = 32.0, 4, 0.5  # 256 sequences over 8 replicas of micro-batch 1
    stages = np.full((p, 1), t)
    fill_send = float(sm.fill_drain_send[0, 0])
    assert sm.pipeline_time(stages)[0, 0] == pytest.approx((m + p - 1) * t + fill_send)
    sm4 = model_of(training(parallel={"tensor": 8, "pipeline": 4, "data": 8, "virtual_stages": 2}))
    assert sm4.pipeline_time(stages)[0, 0] == pytest.approx(m * t + (p - 1) * t / 2 + fill_send)


def test_bubble_shrinks_with_more_micro_batches_and_virtual_stages():
    def bubble(**parallel) -> float:
        w = training(parallel={"tensor": 8, "pipeline": 8, "data": 4, **parallel})
        sm = model_of(w)
        longest = np.full((8, 1), 1.0)
        pipe = sm.pipeline_time(longest)[0, 0] - sm.fill_drain_send[0, 0]
        m = sm.micro_batches[0, 0]
        return (pipe - m) / pipe

    assert bubble(virtual_stages=2) < bubble()
    w_small = training(global_batch_sequences=64, parallel={"tensor": 8, "pipeline": 8, "data": 4})
    sm = model_of(w_small)
    pipe = sm.pipeline_time(np.full((8, 1), 1.0))[0, 0] - sm.fill_drain_send[0, 0]
    assert (pipe - 16) / pipe == pytest.approx(7 / 23)  # (p − 1)/(m + p − 1) with m = 64/4 = 16


def test_layers_balance_first_and_last_stage_as_llama3():
    counts = layers_per_stage(126, 16)
    assert counts.sum() == 126 and counts[0] == counts[-1] == 7 and set(counts[1:-1]) == {8}
    assert list(layers_per_stage(80, 4)) == [20, 20, 20, 20]


def test_edge_stages_agree_with_the_full_layer_split():
    for layers in (1, 7, 61, 80, 105, 126, 128):
        pps = np.array([p for p in (1, 2, 3, 4, 5, 7, 8, 16, 35, 64) if p <= layers])
        first, middle, last = edge_stage_layers(layers, pps)
        for i, p in enumerate(pps):
            counts = layers_per_stage(layers, int(p))
            assert (first[i], last[i]) == (counts[0], counts[-1])
            if p >= 3:
                assert middle[i] == counts[1:-1].max()


def test_model_flops_match_megatrons_formulas():
    # Megatron-Bridge (causal) and NeMo 24.07 (non-causal) FLOPs per token for Llama-3.1-70B at 8K.
    w = training(sequence_length=8192)
    m = job_of(w, H100, 8).model
    assert model_flops_per_token(m, 8192) == pytest.approx(4.492e11, rel=1e-3)
    assert model_flops_per_token(m, 8192, causal=False) == pytest.approx(4.814e11, rel=1e-3)


def test_a_slower_clock_never_shortens_the_step():
    clocks = np.linspace(800.0, 1980.0, 12)
    step = model_of(training(), clocks).step_time()[0]
    assert np.all(np.diff(step) <= 1e-12)
    assert step[0] > 1.5 * step[-1]  # compute-bound: slows almost as 1/f


def test_more_data_parallelism_never_lowers_per_step_communication():
    times = []
    for dp in (1, 2, 4, 8, 16, 32):
        w = training(parallel={"tensor": 8, "pipeline": 1, "data": dp}, overlap={"data_parallel": False})
        times.append(float(model_of(w).comm["data_parallel"][0, 0]))
    assert times[0] == 0.0 and times[-1] > 0.0
    assert all(b >= a for a, b in itertools.pairwise(times))


def test_ring_collectives_over_the_fabric_by_hand():
    fabric = Fabric(
        nic=nic("infiniband-ndr-400"),
        gpus_per_node=8,
        nodes_per_leaf=32,
        nodes_per_pod=384,
        spine_oversubscription=1.0,
        core_oversubscription=7.0,
        nvlink=Link(bandwidth=346e9, latency=2e-6),
    )
    per_gpu = 50e9 * 0.8
    # One member per node (TP8 fills the node): the NIC's bandwidth.
    assert fabric.link(((128, 128),)).bandwidth == pytest.approx(per_gpu)
    # Inside a node: NVLink.
    assert fabric.link(((8, 1),)) is fabric.nvlink
    # Data parallelism outermost across pods keeps 24 members per pod: the 1:7 core does not bind.
    assert members_within(8 * 384, ((128, 128),)) == 24
    assert fabric.link(((128, 128),)).latency == pytest.approx(nic("infiniband-ndr-400").latency_core)
    # A ring with one member per pod would get the core's 1/7.
    assert fabric.link(((8, 8 * 384),)).bandwidth == pytest.approx(per_gpu / 7.0)


def test_fp8_is_faster_than_bf16_but_not_twice():
    bf16 = model_of(training()).step_time()[0, 0]
    fp8 = model_of(training(precision="fp8")).step_time()[0, 0]
    assert 0.5 * bf16 < fp8 < bf16


def test_configs_evaluate_together_as_alone():
    w1 = training()
    w2 = training(parallel={"tensor": 4, "pipeline": 2, "data": 32}, recompute="full")
    job = job_of(w1, H100, 8)
    both = Configs(*[np.concatenate([getattr(configs_of(w), f) for w in (w1, w2)]) for f in (
        "tp", "cp", "pp", "dp", "ep", "mb", "v", "recompute", "zero", "order")])
    together = step_model(job, both, np.array([1500.0, 1980.0])).step_time()
    for i, w in enumerate((w1, w2)):
        alone = step_model(job, configs_of(w), np.array([1500.0, 1980.0])).step_time()[0]
        assert together[i] == pytest.approx(alone, rel=1e-12)
