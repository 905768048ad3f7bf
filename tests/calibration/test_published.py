"""Published serving throughputs: the catalog loads and refuses bad rows, held-out rows stay out of the
fit, the committed calibration reproduces, and GPU generations order as their memory systems say."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from gigawatt.arch.spec import load_model
from gigawatt.calibration import published as pub
from gigawatt.calibration.physics import RATIO_PAIR, throughput_checks
from gigawatt.catalog import CatalogError, _load, gpu
from gigawatt.hardware.roofline import efficiency
from gigawatt.workload.serving.iteration import IterationModel

ROWS = pub.load_rows()
GOOD = next(e for e in _load(pub.CATALOG)["rows"] if e["id"] == "mlperf-v4.0-llama2-70b-offline-h100")


def _decode_tokens_per_s(name: str, batch: int, context: int, tp: int = 8) -> float:
    spec = gpu(name)
    model = IterationModel(load_model("Llama-3.1-70B"), spec, tp, 1, "fp8", np.array([spec.clock_boost]), 8)
    return batch / model.iteration_time(0, decode_seqs=batch, decode_context=batch * context)[0]


def test_every_gpu_has_a_held_out_row_when_it_has_rows() -> None:
    for name in {r.gpu for r in ROWS}:
        assert any(r.held_out for r in ROWS if r.gpu == name), name


def test_held_out_rows_never_enter_a_fit() -> None:
    for name in pub.FIT_PLAN:
        used = pub.fit_rows(ROWS, name)
        assert used and not any(r.held_out for r in used)
        assert {r.id for r in used}.isdisjoint(r.id for r in ROWS if r.held_out)


def test_fit_ignores_held_out_values() -> None:
    """Corrupting every held-out figure of H200 leaves its fit unchanged (they are not read)."""
    corrupted = [replace(r, published=r.published * 7.0) if r.held_out else r for r in ROWS]
    assert pub.fit_rows(corrupted, "H200-SXM") == pub.fit_rows(ROWS, "H200-SXM")
    assert pub.fit_gpu("H200-SXM", corrupted).efficiency == pub.fit_gpu("H200-SXM", ROWS).efficiency


def test_catalog_holds_the_fit_the_script_writes() -> None:
    """Re-fitting the published rows gives the efficiencies committed in calibration.yaml."""
    section = _load("calibration.yaml")["roofline_published"]
    for fit in pub.fit_all(ROWS):
        assert fit.efficiency.memory == pytest.approx(section[fit.gpu]["memory"], rel=2e-3)
        assert fit.efficiency.compute == pytest.approx(section[fit.gpu]["compute"], rel=2e-3)
        assert efficiency(fit.gpu).memory == section[fit.gpu]["memory"]


def test_held_out_rows_within_their_stated_tolerance() -> None:
    held = [c for c in throughput_checks() if c.role == "held out"]
    assert len(held) >= 10
    assert [c.name for c in held if not c.passed] == []


def test_h100_absolute_and_h200_over_h100_ratio() -> None:
    """MLPerf v4.0 Llama-2-70B Offline: H100 within 15 %, H200/H100 (1.27 measured) within 10 %."""
    fast, slow = (next(r for r in ROWS if r.id == i) for i in RATIO_PAIR)
    h100 = pub.predict(slow)
    assert h100 == pytest.approx(slow.published, rel=0.15)
    ratio = pub.predict(fast) / h100
    assert ratio == pytest.approx(fast.published / slow.published, rel=0.10)
    assert ratio > 1.1


def test_large_batch_decode_scales_with_hbm_bandwidth() -> None:
    """Memory-bound decode (weights + long KV reads, a set-up that fits an H100's 80 GB at TP2): H200/H100
    near their achieved-bandwidth ratio, diluted only by launches and all-reduces."""
    h100, h200 = (_decode_tokens_per_s(n, 64, 4000, tp=2) for n in ("H100-SXM", "H200-SXM"))
    achieved = (efficiency("H200-SXM").memory * gpu("H200-SXM").hbm_bandwidth) / (
        efficiency("H100-SXM").memory * gpu("H100-SXM").hbm_bandwidth
    )
    assert 0.85 * achieved < h200 / h100 <= achieved * 1.02


def test_generations_order_b200_h200_h100() -> None:
    for batch, context in ((32, 2000), (256, 4000)):
        b200, h200, h100 = (_decode_tokens_per_s(n, batch, context) for n in ("B200", "H200-SXM", "H100-SXM"))
        assert b200 > h200 > h100


def test_bigger_hbm_holds_a_bigger_batch() -> None:
    row = replace(GOOD_ROW, batch=None, max_batch=100_000, tp=2, isl=2000, osl=2000)
    batches = {n: pub.serving_batch(replace(row, gpu=n), gpu(n)) for n in ("H100-SXM", "H200-SXM", "MI300X")}
    assert batches["MI300X"] > batches["H200-SXM"] > batches["H100-SXM"]
    # 192 GB against 80 GB: the KV room beyond 70 GB of weights per 2 GPUs grows more than 3-fold.
    assert batches["MI300X"] > 3 * batches["H100-SXM"]


GOOD_ROW = pub.parse_row(GOOD)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tp", 0, "tp must be a positive integer"),
        ("precision", "int4", "precision must be one of"),
        ("gpu", "TPU-v9", "gpu/model is not in the catalog"),
        ("held_out", "yes", "held_out must be true or false"),
        ("tolerance", 3.0, "tolerance of a held-out row"),
        ("tokens_per_s_per_gpu", {"value": -1, "source": "x"}, "value must be a positive number"),
        ("tokens_per_s_per_gpu", {"value": 10.0}, "must be {value"),
        ("max_batch", 64, "or max_batch must be given, not both"),
    ],
)
def test_bad_rows_are_refused(field: str, value: object, message: str) -> None:
    entry = copy.deepcopy(GOOD)
    entry[field] = value
    with pytest.raises(CatalogError, match=r"mlperf-v4\.0-llama2-70b-offline-h100") as err:
        pub.parse_row(entry)
    assert message in str(err.value)


def test_missing_field_is_refused() -> None:
    entry = {k: v for k, v in GOOD.items() if k != "osl"}
    with pytest.raises(CatalogError, match="osl is missing"):
        pub.parse_row(entry)


def test_splice_keeps_the_operator_fit_and_replaces_the_section() -> None:
    text = "roofline:\n  X: 1\n#\n" + pub.MARKER + ": old\nroofline_published:\n  Y: 2\n"
    out = pub.splice(text, pub.MARKER + ": new\nroofline_published:\n  Z: 3\n")
    assert out.startswith("roofline:\n  X: 1\n#\n")
    assert "Z: 3" in out and "Y: 2" not in out
    assert pub.splice(out, pub.MARKER + ": new\nroofline_published:\n  Z: 3\n") == out


def test_decode_attention_is_priced_by_kv_bytes_read() -> None:
    """Decode attention is memory-bound: its time is the KV bytes read over the achieved bandwidth, so
    doubling the context doubles it and a faster HBM shortens it by the bandwidth ratio."""
    from gigawatt.arch.ops import Batch, forward_ops
    from gigawatt.hardware.roofline import time_ops

    m = load_model("Llama-3.1-70B")

    def attention(name: str, context: int) -> tuple[float, float]:
        spec = gpu(name)
        op = next(o for o in forward_ops(m, Batch(256, 256, 1, context), 2, "fp8") if o.name == "attention")
        timing = time_ops([op], spec, "fp8", np.array([spec.clock_boost]))
        return float(timing.time[0]), op.bytes

    t1, bytes1 = attention("H100-SXM", 4000)
    t2, bytes2 = attention("H100-SXM", 8000)
    kv = 256 * 4000 * 2 * (8 // 2) * 128 * 1.0  # seqs x keys x (K, V) x KV heads per GPU x head dim x 1 byte
    assert bytes1 == pytest.approx(kv, rel=0.01)
    assert bytes2 / bytes1 == pytest.approx(2.0, rel=0.01)
    assert t2 / t1 == pytest.approx(2.0, rel=0.02)
    h200, _ = attention("H200-SXM", 4000)
    bandwidth = (efficiency("H200-SXM").memory * gpu("H200-SXM").hbm_bandwidth) / (
        efficiency("H100-SXM").memory * gpu("H100-SXM").hbm_bandwidth
    )
    assert t1 / h200 == pytest.approx(bandwidth, rel=0.03)


def test_fp8_all_reduce_exchanges_16_bit_activations() -> None:
    m, spec = load_model("Llama-3.1-70B"), gpu("H100-SXM")
    clocks = np.array([spec.clock_boost])
    fp8, bf16 = (IterationModel(m, spec, 8, 1, p, clocks, 8) for p in ("fp8", "bf16"))
    assert fp8._comm_per_token == pytest.approx(bf16._comm_per_token)
    assert fp8._comm_per_token > 0


def test_fp8_gemms_reach_the_fitted_share_of_their_peak() -> None:
    """A compute-bound GEMM at FP8 runs at the bf16 efficiency x the fitted FP8/bf16 ratio of a peak twice
    as high; the ratio is the one the training step uses (fitted to a training run, below 1)."""
    from gigawatt.arch.ops import Op
    from gigawatt.hardware.roofline import fp8_gemm_ratio, time_ops

    spec = gpu("H100-SXM")
    op = Op("gemm", flops=2.0 * 8192**3, bytes=3 * 8192**2)
    clocks = np.array([spec.clock_boost])
    t_fp8, t_bf16 = (time_ops([op], spec, p, clocks).compute_busy[0] for p in ("fp8", "bf16"))
    assert 0.5 < fp8_gemm_ratio(spec.name) < 1.0
    assert t_bf16 / t_fp8 == pytest.approx(2.0 * fp8_gemm_ratio(spec.name), rel=1e-3)
