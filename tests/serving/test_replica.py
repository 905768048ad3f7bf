import numpy as np
import pytest

from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.replica import (
    DETOKENIZE_S_PER_TOKEN,
    ReplicaServer,
    SchedulerConfig,
    TickWork,
)
from gigawatt.workload.serving.startup import StartupStages
from gigawatt.workload.serving.traces import Arrivals, poisson_arrivals

from .conftest import MAX_BIN, bin_of


def _serve(
    model: IterationModel,
    arrivals: Arrivals,
    seconds: float,
    config: SchedulerConfig | None = None,
    clock_bin: int = MAX_BIN,
    tick_s: float = 1.0,
    serving_at_start: bool = True,
    startup: StartupStages | None = None,
) -> tuple[ReplicaServer, list[TickWork]]:
    server = ReplicaServer(model, config, serving_at_start=serving_at_start, startup=startup)
    server.add_arrivals(*arrivals)
    ticks = np.arange(1, round(seconds / tick_s) + 1) * tick_s
    return server, [server.advance(float(t), clock_bin, True) for t in ticks]


def _one_request(prompt: int, output: int) -> Arrivals:
    return Arrivals(np.array([0.0]), np.array([prompt]), np.array([output]))


def test_single_request_latency_is_cold_start_prefill_and_decodes(llama8b: IterationModel) -> None:
    prompt, output = 1000, 20
    server, work = _serve(llama8b, _one_request(prompt, output), 200.0, serving_at_start=False)
    rec = server.records()
    prefill = llama8b.iteration_time(MAX_BIN, prompt, 1, prompt * (prompt + 1) / 2, prompt)[0]
    decodes = [
        llama8b.iteration_time(MAX_BIN, decode_seqs=1, decode_context=prompt + k)[0] + DETOKENIZE_S_PER_TOKEN
        for k in range(1, output)
    ]
    first = server.cold_start_s + prefill + DETOKENIZE_S_PER_TOKEN
    assert rec.first_token_s[0] == pytest.approx(first, rel=1e-9)
    assert rec.finish_s[0] == pytest.approx(first + sum(decodes), rel=1e-9)
    assert sum(w.output_tokens for w in work) == output
    assert sum(w.input_tokens for w in work) == prompt
    assert sum(w.loading_s for w in work) == pytest.approx(server.cold_start_s)
    assert sum(w.busy_s for w in work) == pytest.approx(rec.finish_s[0] - server.cold_start_s, rel=1e-9)


def _wave_capacity(model: IterationModel, seqs: int, prompt: int, output: int) -> float:
    """Output tokens/s of waves: prefill `seqs` prompts together, decode them to the end, repeat."""
    prefill = model.iteration_time(
        MAX_BIN, seqs * prompt, seqs, seqs * prompt * (prompt + 1) / 2, seqs * prompt
    )
    decode = [
        model.iteration_time(MAX_BIN, decode_seqs=seqs, decode_context=seqs * (prompt + k))[0]
        for k in range(1, output)
    ]
    cycle = prefill[0] + sum(decode) + output * seqs * DETOKENIZE_S_PER_TOKEN
    return seqs * output / cycle


@pytest.mark.parametrize("rate", [40.0, 80.0])
def test_throughput_saturates_at_predicted_capacity(llama8b: IterationModel, rate: float) -> None:
    seqs, prompt, output = 16, 512, 64
    config = SchedulerConfig(max_num_batched_tokens=seqs * prompt, max_num_seqs=seqs)
    arrivals = poisson_arrivals(8000, rate, np.random.default_rng(0), prompt, output)  # > 20x capacity
    # A 2 s start queues enough requests to fill every batch at once: the replica then runs in waves.
    start = StartupStages(2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    _, work = _serve(llama8b, arrivals, 120.0, config, serving_at_start=False, startup=start)
    measured = np.mean([w.output_tokens for w in work[20:]])
    assert measured == pytest.approx(_wave_capacity(llama8b, seqs, prompt, output), rel=0.01)


def _median_ttft(server: ReplicaServer) -> float:
    rec = server.records()
    return float(np.nanmedian(rec.first_token_s - rec.arrival_s))


def test_ttft_rises_with_load(llama8b: IterationModel) -> None:
    config = SchedulerConfig(max_num_batched_tokens=2048, max_num_seqs=16)
    ttft = []
    for rate in (5.0, 20.0, 30.0):
        arrivals = poisson_arrivals(1500, rate, np.random.default_rng(1), 512, 64)
        server, _ = _serve(llama8b, arrivals, arrivals.arrival_s[-1] + 60, config)
        ttft.append(_median_ttft(server))
    assert ttft[0] < ttft[1] < ttft[2]


def _median_tpot(server: ReplicaServer) -> float:
    rec = server.records()
    return float(np.nanmedian((rec.finish_s - rec.first_token_s) / (rec.output_tokens - 1)))


def test_lower_clock_slows_long_prefills_not_decode(llama8b: IterationModel) -> None:
    slow = bin_of(990)
    long_prompts = poisson_arrivals(30, 0.2, np.random.default_rng(2), 4000, 2)
    decode_heavy = poisson_arrivals(30, 0.5, np.random.default_rng(3), 100, 400)
    ttft = [_median_ttft(_serve(llama8b, long_prompts, 200.0, clock_bin=k)[0]) for k in (MAX_BIN, slow)]
    tpot = [_median_tpot(_serve(llama8b, decode_heavy, 200.0, clock_bin=k)[0]) for k in (MAX_BIN, slow)]
    assert ttft[1] / ttft[0] > 1.6  # prefill is compute-bound: ~ f_max / f = 2
    assert tpot[1] / tpot[0] < 1.1  # decode is memory-bound


def test_failure_loses_work_and_restart_pays_cold_start(llama8b: IterationModel) -> None:
    arrivals = poisson_arrivals(40, 4.0, np.random.default_rng(4), 500, 200)
    server = ReplicaServer(llama8b, serving_at_start=True)
    server.add_arrivals(*arrivals)
    work = [server.advance(float(t), MAX_BIN, True) for t in range(1, 7)]
    server.fail(6.0)
    down = [server.advance(float(t), MAX_BIN, False) for t in (7, 8)]
    assert all(w.busy_s == 0.0 and w.output_tokens == 0 for w in down)
    restart = 8.0
    after = [server.advance(float(t), MAX_BIN, True) for t in range(9, 200)]
    rec, stats = server.records(), server.stats()

    assert stats.failures == 1 and stats.cold_starts == 1  # serving at the start; one restart
    assert sum(w.loading_s for w in after) == pytest.approx(server.cold_start_s)
    interrupted = rec.interruptions > 0
    assert interrupted.any()
    assert np.all(rec.finish_s[interrupted] > restart + server.cold_start_s)
    assert np.isfinite(rec.finish_s).all()
    assert stats.recomputed_tokens > 0
    # Tokens delivered before the failure are kept; the lost iteration's are not counted.
    assert sum(w.output_tokens for w in work + down + after) == rec.output_tokens.sum()
    # The same load without the failure finishes sooner.
    clean, _ = _serve(llama8b, arrivals, 200.0)
    assert np.nanmax(clean.records().finish_s) < np.nanmax(rec.finish_s)


def test_results_do_not_depend_on_tick_length(llama8b: IterationModel) -> None:
    """An iteration straddling a tick boundary completes in the next call with its remainder."""
    arrivals = poisson_arrivals(200, 8.0, np.random.default_rng(5), 700, 100)
    coarse, coarse_work = _serve(llama8b, arrivals, 60.0, tick_s=1.0)
    fine, fine_work = _serve(llama8b, arrivals, 60.0, tick_s=0.0625)
    np.testing.assert_allclose(coarse.records().finish_s, fine.records().finish_s, rtol=1e-9)
    assert sum(w.busy_s for w in coarse_work) == pytest.approx(sum(w.busy_s for w in fine_work), rel=1e-9)
    assert sum(w.output_tokens for w in fine_work) == arrivals.output_tokens.sum()


def test_a_clock_drop_mid_iteration_stretches_its_remainder(llama8b: IterationModel) -> None:
    prompt = 8000
    config = SchedulerConfig(max_num_batched_tokens=8192)
    steady = ReplicaServer(llama8b, config, serving_at_start=True)
    throttled = ReplicaServer(llama8b, config, serving_at_start=True)
    for server in (steady, throttled):
        server.add_arrivals(*_one_request(prompt, 2))
        server.advance(0.01, MAX_BIN, True)  # the prefill is under way
    steady.advance(10.0, MAX_BIN, True)
    throttled.advance(10.0, bin_of(990), True)
    assert throttled.records().first_token_s[0] > steady.records().first_token_s[0] + 0.05


def test_same_inputs_same_records(llama8b: IterationModel) -> None:
    def run() -> ReplicaServer:
        return _serve(llama8b, poisson_arrivals(300, 10.0, np.random.default_rng(6), 600, 150), 60.0)[0]

    a, b = run().records(), run().records()
    for field in ("first_token_s", "finish_s", "admitted_s", "preemptions"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_rejects_requests_that_can_never_fit(llama8b: IterationModel) -> None:
    server = ReplicaServer(llama8b, kv_blocks=10)
    with pytest.raises(ValueError, match="needs more KV blocks"):
        server.add_arrivals(np.array([0.0]), np.array([150]), np.array([20]))
    with pytest.raises(ValueError, match="non-decreasing"):
        server.add_arrivals(np.array([1.0, 0.5]), np.array([1, 1]), np.array([1, 1]))
