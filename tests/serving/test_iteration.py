import numpy as np
import pytest

from gigawatt.arch.kv import BYTES_PER_ELEMENT
from gigawatt.arch.ops import Batch, forward_ops
from gigawatt.arch.spec import load_model
from gigawatt.hardware.collectives import (
    INFINIBAND_SAME_LEAF,
    nvlink_link,
    ring_all_reduce_time,
    send_recv_time,
)
from gigawatt.hardware.roofline import time_ops
from gigawatt.workload.serving.iteration import IterationModel

from .conftest import CLOCKS, H100, MAX_BIN, bin_of


def _prefill(model: IterationModel, k: int, seqs: int, prompt: int) -> tuple[float, float, float]:
    return model.iteration_time(
        k,
        prefill_tokens=seqs * prompt,
        prefill_seqs=seqs,
        prefill_pairs=seqs * prompt * (prompt + 1) / 2,
        prefill_context=seqs * prompt,
    )


def _decode(model: IterationModel, k: int, seqs: int, context: int) -> tuple[float, float, float]:
    return model.iteration_time(k, decode_seqs=seqs, decode_context=seqs * context)


@pytest.mark.parametrize("name", ["Llama-3.1-8B", "DeepSeek-V3"])
def test_matches_forward_ops_roofline(name: str) -> None:
    m = load_model(name)
    model = IterationModel(m, H100, 1, 1, "bf16", CLOCKS, 8)
    cases = [
        (Batch(4 * 700, 4, 700, 700), lambda k: _prefill(model, k, 4, 700)),
        (Batch(1, 1, 1, 1), lambda k: _prefill(model, k, 1, 1)),
        (Batch(64, 64, 1, 1500), lambda k: _decode(model, k, 64, 1500)),
    ]
    for batch, ours in cases:
        ref = time_ops(forward_ops(m, batch, 1, "bf16"), H100, "bf16", CLOCKS)
        for k in (0, 40, MAX_BIN):
            t, c, mem = ours(k)
            assert t == pytest.approx(ref.time[k], rel=1e-9)
            assert c == pytest.approx(ref.compute_busy[k], rel=1e-9)
            assert mem == pytest.approx(ref.memory_busy[k], rel=1e-9)


def test_decode_barely_slows_with_clock_prefill_scales_inversely(llama8b: IterationModel) -> None:
    slow, fast = bin_of(1200), MAX_BIN
    decode_ratio = _decode(llama8b, slow, 32, 1000)[0] / _decode(llama8b, fast, 32, 1000)[0]
    prefill_ratio = _prefill(llama8b, slow, 4, 2000)[0] / _prefill(llama8b, fast, 4, 2000)[0]
    assert decode_ratio < 1.05
    assert prefill_ratio == pytest.approx(CLOCKS[fast] / CLOCKS[slow], rel=0.05)


def test_mixed_batch_reads_weights_once(llama8b: IterationModel) -> None:
    prefill = _prefill(llama8b, MAX_BIN, 1, 512)[0]
    decode = _decode(llama8b, MAX_BIN, 32, 1000)[0]
    mixed = llama8b.iteration_time(
        MAX_BIN, 512, 1, 512 * 513 / 2, 512, decode_seqs=32, decode_context=32 * 1000
    )[0]
    assert max(prefill, decode) < mixed < prefill + decode


def test_empty_batch_takes_no_time(llama8b: IterationModel) -> None:
    assert llama8b.iteration_time(MAX_BIN) == (0.0, 0.0, 0.0)


def test_tensor_parallel_adds_two_all_reduces_per_layer() -> None:
    m = load_model("Llama-3.1-8B")
    model = IterationModel(m, H100, 2, 1, "bf16", CLOCKS, 8)
    ref = time_ops(forward_ops(m, Batch(64, 64, 1, 1000), 2, "bf16"), H100, "bf16", CLOCKS)
    link = nvlink_link(H100.name, H100.nvlink_bandwidth, 2, 8)
    all_reduce = 2 * m.layers * ring_all_reduce_time(64 * m.hidden * BYTES_PER_ELEMENT["bf16"], 2, link)
    t = _decode(model, MAX_BIN, 64, 1000)[0]
    assert t == pytest.approx(ref.time[MAX_BIN] + all_reduce, rel=1e-9)


def test_pipeline_stages_add_transfers_and_a_bubble() -> None:
    m = load_model("Llama-3.1-8B")
    one = IterationModel(m, H100, 1, 1, "bf16", CLOCKS, 8)
    four = IterationModel(m, H100, 1, 4, "bf16", CLOCKS, 8)
    t1, c1, m1 = _prefill(one, MAX_BIN, 2, 1000)
    t4, c4, m4 = _prefill(four, MAX_BIN, 2, 1000)
    transfer = send_recv_time(2000 * m.hidden * BYTES_PER_ELEMENT["bf16"], INFINIBAND_SAME_LEAF)
    assert t4 == pytest.approx(t1 + 3 * transfer, rel=1e-12)
    # Each GPU holds a quarter of the layers and idles the rest of the iteration.
    assert (c4, m4) == pytest.approx((c1 / 4, m1 / 4), rel=1e-12)


def test_moe_expected_experts_evaluated_per_call() -> None:
    """Routed-expert weights read grow sub-linearly with tokens: the fit keeps the exact expectation."""
    m = load_model("DeepSeek-V3")
    model = IterationModel(m, H100, 8, 1, "bf16", CLOCKS, 8)
    for seqs in (1, 3, 17, 200):
        ref = time_ops(forward_ops(m, Batch(seqs, seqs, 1, 900), 8, "bf16"), H100, "bf16", CLOCKS)
        ops = _decode(model, MAX_BIN, seqs, 900)
        assert ops[2] == pytest.approx(ref.memory_busy[MAX_BIN], rel=1e-9)
    assert np.isfinite(ops[0])
