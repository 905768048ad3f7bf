"""Closed-form runs of decode iterations against the step-by-step replica and recorded golden metrics."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gigawatt.arch.spec import load_model
from gigawatt.workload.serving import replica
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig
from gigawatt.workload.serving.traces import Arrivals

from .conftest import CLOCKS, H100, MAX_BIN
from .golden_cases import CASES, FIXTURE, run_case


class StepByStep(ReplicaServer):
    """The replica with every iteration scheduled, timed and completed one at a time."""

    def _decode_run(self, t_end: float, clock_bin: int, acc: list[float]) -> int:
        return 0


class GeneralScheduler(ReplicaServer):
    """The replica scheduling every iteration from arrays, never from what it knows of the running set
    (decode runs still happen after an iteration completes)."""

    def _schedule(self):  # type: ignore[no-untyped-def]
        self._tail = None
        return super()._schedule()


def _serve(
    cls: type[ReplicaServer],
    model: IterationModel,
    arrivals: Arrivals,
    config: SchedulerConfig,
    blocks: int | None,
    ticks: list[tuple[float, int, bool]],
) -> tuple[ReplicaServer, list]:
    server = cls(model, config, kv_blocks=blocks, serving_at_start=True)
    server.add_arrivals(*arrivals)
    return server, [server.advance(t, k, ok) for t, k, ok in ticks]


def _same_records(a: ReplicaServer, b: ReplicaServer) -> None:
    ra, rb = a.records(), b.records()
    for field in ("arrival_s", "admitted_s", "first_token_s", "finish_s", "preemptions", "interruptions"):
        np.testing.assert_array_equal(getattr(ra, field), getattr(rb, field), err_msg=field)
    assert a.stats() == b.stats()
    assert (a.now, a.iterations, a.kv.used, a.tokens_owed) == (b.now, b.iterations, b.kv.used, b.tokens_owed)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Arrivals, SchedulerConfig, int | None, list[tuple[float, int, bool]]]:
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rate = draw(st.sampled_from([0.5, 4.0, 30.0]))
    arrivals = Arrivals(
        np.cumsum(rng.exponential(1.0 / rate, n)), rng.integers(1, 1500, n), rng.integers(1, 300, n)
    )
    config = SchedulerConfig(
        max_num_batched_tokens=draw(st.sampled_from([256, 2048])),
        max_num_seqs=draw(st.sampled_from([4, 128])),
        chunked_prefill=draw(st.booleans()),
        preemption=draw(st.sampled_from(["recompute", "offload"])),
    )
    blocks = draw(st.sampled_from([None, 200, 400]))
    tick = draw(st.sampled_from([0.25, 1.0, 3.0]))
    down = draw(st.integers(0, 20))  # a tick at a low clock, and one with the replica down
    fail = draw(st.integers(0, 40))
    ticks = [
        (tick * (i + 1), MAX_BIN // 3 if i == down else MAX_BIN, i != fail) for i in range(int(60 / tick))
    ]
    return arrivals, config, blocks, ticks


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_closed_form_runs_equal_step_by_step(llama8b: IterationModel, case) -> None:  # type: ignore[no-untyped-def]
    arrivals, config, blocks, ticks = case
    if (
        blocks is not None
        and (np.ceil((arrivals.prompt_tokens + arrivals.output_tokens) / 16) > blocks).any()
    ):
        blocks = None  # such requests are refused up front
    fast, fast_work = _serve(ReplicaServer, llama8b, arrivals, config, blocks, ticks)
    step, step_work = _serve(StepByStep, llama8b, arrivals, config, blocks, ticks)
    general, general_work = _serve(GeneralScheduler, llama8b, arrivals, config, blocks, ticks)
    assert fast_work == step_work == general_work
    _same_records(fast, step)
    _same_records(fast, general)
    fast.kv.check()


@pytest.mark.parametrize("short_run", [0, 10**6])
def test_short_and_long_windows_add_up_the_same(monkeypatch: pytest.MonkeyPatch, short_run: int) -> None:
    """Decode runs add ends, busy times and integrals in Python floats (short windows) or cumulative sums
    (long ones): forcing either everywhere gives the same bits."""
    want = run_case("offload")
    monkeypatch.setattr(replica, "_SHORT_RUN", short_run)
    assert run_case("offload") == want


def test_decode_runs_cover_most_iterations(llama8b: IterationModel) -> None:
    """The closed form is what runs: a steady decode-heavy load takes far fewer schedules than iterations."""
    rng = np.random.default_rng(3)
    arrivals = Arrivals(
        np.sort(rng.uniform(0, 5, 20)), rng.integers(100, 500, 20), rng.integers(200, 400, 20)
    )
    server = ReplicaServer(llama8b, serving_at_start=True)
    server.add_arrivals(*arrivals)
    calls = 0
    schedule = server._schedule

    def counted():  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return schedule()

    server._schedule = counted  # type: ignore[method-assign]
    for t in range(1, 30):
        server.advance(float(t), MAX_BIN, True)
    assert np.isfinite(server.records().finish_s).all()
    assert server.iterations > 10 * calls


def test_tokens_are_conserved(llama8b: IterationModel) -> None:
    """Tokens sampled over the ticks plus those still owed equal the output tokens offered."""
    rng = np.random.default_rng(5)
    arrivals = Arrivals(
        np.sort(rng.uniform(0, 20, 150)), rng.integers(1, 2000, 150), rng.integers(1, 500, 150)
    )
    for preemption in ("recompute", "offload"):
        server = ReplicaServer(
            llama8b, SchedulerConfig(preemption=preemption), kv_blocks=400, serving_at_start=True
        )
        server.add_arrivals(*arrivals)
        served = sum(server.advance(float(t), MAX_BIN, t != 9).output_tokens for t in range(1, 25))
        assert server.preemptions > 0
        assert served + server.tokens_owed == int(arrivals.output_tokens.sum())
        server.kv.check()


def test_same_seed_same_metrics() -> None:
    assert run_case("offload") == run_case("offload")


def test_golden_metrics_unchanged() -> None:
    """Metrics recorded from the replica before closed-form runs: integers exactly, times to 1e-12 (the
    iteration time sums each operator's products in a fixed order instead of a BLAS matrix-vector
    product; that moves results by ~1e-16 relative)."""
    golden = json.loads(FIXTURE.read_text())
    for name in CASES:
        got = run_case(name)
        assert got.keys() == golden[name].keys()
        for key, want in golden[name].items():
            if isinstance(want, int):
                assert got[key] == want, (name, key)
            else:
                assert math.isclose(got[key], want, rel_tol=1e-12, abs_tol=1e-15), (name, key, got[key], want)


@pytest.mark.parametrize("name", ["Llama-3.1-8B", "DeepSeek-V3"])
def test_decode_times_equal_iteration_time_bit_for_bit(name: str) -> None:
    """One call per iteration or all at once (dense, and MoE with MLA's decode path over 8 GPUs)."""
    tp = 8 if name == "DeepSeek-V3" else 1
    model = IterationModel(load_model(name), H100, tp, 1, "fp8", CLOCKS, 8)
    seqs = np.array([1, 7, 7, 128, 33])
    context = np.array([2.0, 900.0, 10_000.0, 400_000.0, 12_345.0])
    for clock in (0, MAX_BIN):
        batched = model.decode_times(clock, seqs, context)
        for i in range(seqs.size):
            one = model.iteration_time(clock, decode_seqs=float(seqs[i]), decode_context=float(context[i]))
            assert one[0] > 0
            assert tuple(float(x[i]) for x in batched) == one
