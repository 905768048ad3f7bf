"""Paged KV allocation shared by the steady, fluid and request-level models; start-up stages."""

import numpy as np
import pytest
from pydantic import ValidationError

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.scenario import Scenario, Serving, Startup, SteadyServing
from gigawatt.workload.serving import paged
from gigawatt.workload.serving.fluid import FluidServing
from gigawatt.workload.serving.physics import checks
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig
from gigawatt.workload.serving.request_level import RequestLevel
from gigawatt.workload.serving.startup import startup_stages
from gigawatt.workload.serving.steady import WorkloadError, build_profile
from gigawatt.workload.serving.traces import poisson_arrivals
from helpers import example_dict, with_changes

from .conftest import H100, MAX_BIN

A40 = gpu("A40")
PROMPT, OUTPUT = 2048, 1024


def _steady(batch: int, tp: int | None = 4, model: str = "Llama-3.1-70B", **kw: object) -> SteadyServing:
    return SteadyServing(
        model=model,
        batch_size=batch,
        prompt_tokens=1024,
        output_tokens=256,
        demand=0.7,
        tensor_parallel=tp,
        **kw,
    )


def test_mean_occupancy_is_prompt_plus_half_the_output_in_whole_blocks() -> None:
    occ = paged.occupancy(1024, 256, 16)
    # ceil((1024 + g) / 16) for g = 0 … 255: 64 once, then 65 … 80 sixteen times each but the last.
    assert occ.mean == pytest.approx(np.ceil((1024 + np.arange(256)) / 16).mean())
    assert 1024 + 255 / 2 < occ.mean * 16 < 1024 + 255 / 2 + 16


def test_on_demand_allocation_admits_more_than_full_reservation() -> None:
    blocks = 27_847  # Llama-3.1-70B at TP4 on an H100: 445,552 tokens
    reserved = blocks // paged.blocks_for(1024 + 256, 16)
    assert paged.max_seqs(blocks, 1024, 256, 16) > 1.08 * reserved
    # The steady model runs a batch that reserving prompt + output for every sequence would refuse.
    profile = build_profile(_steady(360), H100, 8)
    assert reserved < 360 and profile.tp == 4
    assert profile.memory_per_gpu < 0.9 * H100.hbm_capacity


def test_overflow_grows_only_as_the_pool_runs_out() -> None:
    blocks = 10_000
    most = paged.max_seqs(blocks, PROMPT, OUTPUT, 16)
    shares = [paged.overflow_share(n, blocks, PROMPT, OUTPUT, 16) for n in range(1, int(1.3 * most))]
    assert np.all(np.diff(shares) >= 0)
    assert shares[int(0.7 * most)] < 1e-9  # plenty of room: nothing preempted
    assert shares[int(1.2 * most)] > 0.1  # past the pool: a sixth of the KV recomputed


def _serving(rate: float = 20.0, max_seqs: int = 256) -> Serving:
    return Serving(
        kind="serving",
        model="Llama-3.1-8B",
        arrivals={"kind": "poisson", "rate": rate, "prompt_tokens": PROMPT, "output_tokens": OUTPUT},
        scheduler={"max_num_batched_tokens": 2048, "max_num_seqs": max_seqs},
    )


def test_steady_fluid_and_request_level_agree_on_the_kv_bound_batch() -> None:
    """A saturated Llama-3.1-8B on a 48 GB A40 whose batch the KV pool limits: the fluid model's largest
    batch, the steady model's largest accepted batch and the request-level replica's measured mean batch
    and KV occupancy agree within 5%."""
    w = _serving()
    fluid = FluidServing(w, A40, 1, 8, 200.0, 1.0, seed=1)
    requests = RequestLevel(w, A40, 1, 8, 200.0, 1.0, seed=1)
    pool = requests.setup.kv_blocks
    n = fluid.n_max
    assert n == paged.max_seqs(pool, PROMPT, OUTPUT, 16) < w.scheduler.max_num_seqs

    def steady(batch: int) -> SteadyServing:
        return SteadyServing(
            model=w.model,
            batch_size=batch,
            prompt_tokens=PROMPT,
            output_tokens=OUTPUT,
            demand=1.0,
            tensor_parallel=1,
        )

    plan = build_profile(steady(n), A40, 8).kv
    assert plan.pool_blocks == pool
    with pytest.raises(WorkloadError, match=f"lower batch_size to {n}"):
        build_profile(steady(n + 1), A40, 8)

    # Equal prompts and outputs admitted together finish together: the batch swings in waves around its
    # mean, so the request level is averaged over 180 s after a 20 s ramp.
    top = np.array([len(requests.clocks) - 1])
    for t in range(1, 201):
        requests.advance(float(t), top, np.array([True]))
        if t == 20:
            ramp = requests.replicas[0].stats()
    end = requests.replicas[0].stats()

    def window_mean(field: str) -> float:
        integral = getattr(end, field) * end.simulated_s - getattr(ramp, field) * ramp.simulated_s
        return integral / (end.simulated_s - ramp.simulated_s)

    assert window_mean("batch_mean") == pytest.approx(n, rel=0.05)
    assert window_mean("kv_utilisation_mean") == pytest.approx(plan.mean_blocks / pool, rel=0.05)


def test_preemption_when_and_only_when_blocks_run_out(llama8b) -> None:
    config = SchedulerConfig(max_num_batched_tokens=2048, max_num_seqs=64)
    arrivals = poisson_arrivals(400, 10.0, np.random.default_rng(7), 1024, 512)

    def run(blocks: int) -> ReplicaServer:
        server = ReplicaServer(llama8b, config, kv_blocks=blocks, serving_at_start=True)
        server.add_arrivals(*arrivals)
        for t in range(1, 61):
            server.advance(float(t), MAX_BIN, True)
            server.kv.check()
        return server

    # 64 sequences hold at most 64 × 96 blocks: a pool that large never preempts.
    ample = run(64 * paged.blocks_for(1024 + 512, 16) + 100)
    assert ample.stats().preemptions == 0 and ample.stats().kv_utilisation_peak < 1.0
    tight = run(2000)  # room for about 25 sequences: 64 seats overfill it
    assert tight.stats().preemptions > 0 and tight.stats().kv_utilisation_peak > 0.97


def test_output_tokens_are_conserved_through_preemption_and_failure(llama8b) -> None:
    """Tokens served + tokens still owed = tokens offered, whatever was preempted or lost in a failure."""
    arrivals = poisson_arrivals(300, 10.0, np.random.default_rng(8), 1024, 300)
    config = SchedulerConfig(max_num_batched_tokens=2048, max_num_seqs=64)
    server = ReplicaServer(llama8b, config, kv_blocks=1500, serving_at_start=True)
    server.add_arrivals(*arrivals)
    served = 0
    for t in range(1, 200):
        if t == 20:
            server.fail(20.0)
        served += server.advance(float(t), MAX_BIN, t not in (20, 21)).output_tokens
        assert served + server.tokens_owed == arrivals.output_tokens.sum()
    stats = server.stats()
    assert stats.preemptions > 0 and stats.failures == 1 and stats.recomputed_tokens > 0


def test_errors_name_the_fix() -> None:
    with pytest.raises(WorkloadError) as err:
        build_profile(_steady(8, tp=2), H100, 8)
    assert "holds 1159 KV tokens each on average (prompt + half the output)" in str(err.value)
    assert str(err.value).endswith(
        "lower batch_size to 5 or raise tensor_parallel to 4 or use fp8 weights (workload.precision: fp8)"
    )
    with pytest.raises(WorkloadError) as err:
        build_profile(_steady(8, tp=1), H100, 8)
    assert "weights in bf16 (141.1 GB per GPU at tensor_parallel 1) leave no room for KV" in str(err.value)
    assert str(err.value).endswith("raise tensor_parallel to 4")  # fp8 (71 GB) would not fit either
    with pytest.raises(WorkloadError) as err:
        build_profile(_steady(400), H100, 4)
    assert str(err.value).endswith(
        "lower batch_size to 380 or tensor_parallel 8, which needs 8 GPUs per node "
        "(cluster.gpus_per_node is 4) or use fp8 weights (workload.precision: fp8)"
    )


def test_start_up_stages_sum_and_match_the_published_start() -> None:
    m = load_model("Llama-3.1-70B")
    warm = startup_stages(m, "bf16", 8, 1, H100)
    assert warm.total == pytest.approx(sum(warm.as_dict().values()))
    assert 60.0 < warm.total < 600.0  # tens of seconds to minutes, as engines take
    # Each stage from its catalog figure: 0.75 s of capture per layer; one shard read at 7 GB/s (local
    # NVMe) and copied over PCIe, so the two times stand in the bandwidths' ratio.
    assert warm.cuda_graphs == pytest.approx(0.75 * 80)
    assert warm.storage_read * 7e9 == pytest.approx(warm.host_to_device * H100.pcie_bandwidth)
    cold = startup_stages(m, "bf16", 8, 1, H100, caches="cold")
    network = startup_stages(m, "bf16", 8, 1, H100, storage="network-fs")
    slow = startup_stages(m, "bf16", 8, 1, H100, storage_read=0.5e9)
    assert warm.total < network.total < slow.total and warm.total < cold.total
    assert startup_stages(load_model("Llama-3.1-8B"), "bf16", 1, 1, H100).communicators == 0.0
    start = {c.name: c for c in checks() if c.group == "serving start-up"}
    fitted = start["Llama-70B FP8 TP8 start, cold caches (P2P, weights, compile, graphs)"]
    assert fitted.predicted == pytest.approx(215.0, rel=0.01)
    held = start["Llama-3.1-8B weights from page cache (deserialise + PCIe)"]
    assert held.role == "held out" and abs(held.error) < 0.1


def test_kv_capacity_matches_vllm_logs_held_out() -> None:
    kv = [c for c in checks() if c.group == "serving KV cache"]
    assert len(kv) == 4 and all(c.role == "held out" for c in kv)
    assert all(c.passed for c in kv)


def test_a_replica_serving_at_the_start_pays_no_cold_start_until_it_fails(llama8b) -> None:
    w = _serving(rate=2.0)
    serving = RequestLevel(w, H100, 1, 8, 30.0, 1.0, seed=2)
    cold_w = w.model_copy(update={"startup": Startup(begin="cold")})
    cold = RequestLevel(cold_w, H100, 1, 8, 30.0, 1.0, seed=2)
    for t in range(1, 31):
        serving.advance(float(t), np.array([MAX_BIN]), np.array([True]))
        cold.advance(float(t), np.array([MAX_BIN]), np.array([True]))
    assert serving.replicas[0].stats().cold_starts == 0
    assert np.isfinite(serving.replicas[0].records().finish_s).sum() > 20
    assert cold.replicas[0].stats().cold_starts == 1
    assert np.isnan(cold.replicas[0].records().first_token_s).all()  # still loading after 30 s


def test_storage_read_must_be_positive() -> None:
    changes = {"workload.startup": {"storage_read": "0 GB/s"}}
    data = with_changes(example_dict("serving-llama70b-h100"), **changes)
    with pytest.raises(ValidationError, match="storage_read"):
        Scenario.model_validate(data)
