import numpy as np
import pytest

from gigawatt.workload.serving.metrics import latencies, requests_table, summarize
from gigawatt.workload.serving.replica import ReplicaStats, RequestRecords

NAN = np.nan


def _records() -> RequestRecords:
    return RequestRecords(
        replica=3,
        arrival_s=np.array([0.0, 1.0, 2.0, 3.0]),
        admitted_s=np.array([0.1, 1.5, 2.0, NAN]),
        first_token_s=np.array([0.5, 3.0, 2.2, NAN]),
        finish_s=np.array([1.5, 4.0, 2.2, NAN]),
        prompt_tokens=np.array([10, 20, 30, 40]),
        output_tokens=np.array([11, 3, 1, 5]),
        preemptions=np.array([0, 1, 0, 0]),
        interruptions=np.array([0, 0, 0, 0]),
    )


def _stats() -> ReplicaStats:
    moved = {"hbm_to_dram": 5.0, "dram_to_ssd": 1.0, "ssd_to_dram": 1.0, "dram_to_hbm": 5.0}
    return ReplicaStats(3, 10.0, 1, 2.5, 0, 1, 0, 0.2, 0.6, 100, moved, 4.0, {"engine_start": 2.5})


def test_latencies_by_definition() -> None:
    lat = latencies([_records()])
    np.testing.assert_allclose(lat["ttft_s"][:3], [0.5, 2.0, 0.2])
    np.testing.assert_allclose(lat["tpot_s"][:2], [0.1, 0.5])
    assert np.isnan(lat["tpot_s"][2])  # one output token: no TPOT
    np.testing.assert_allclose(lat["e2e_s"][:3], [1.5, 3.0, 0.2])
    np.testing.assert_allclose(lat["queueing_s"][:3], [0.1, 0.5, 0.0])


def test_summary_goodput_throughput_and_energy() -> None:
    s = summarize([_records()], [_stats()], duration_s=4.0, ttft_slo_s=1.0, tpot_slo_s=0.2, energy_j=30.0)
    assert s["finished_requests"] == 3 and s["requests"] == 4
    # Request 0 meets both limits, 1 misses TTFT, 2 has no TPOT and meets TTFT; 3 never finished.
    assert s["goodput_requests_per_s"] == pytest.approx(2 / 4.0)
    assert s["output_tokens_per_s"] == pytest.approx(15 / 4.0)
    assert s["input_tokens_per_s"] == pytest.approx(60 / 4.0)
    assert s["energy_j_per_output_token"] == pytest.approx(2.0)
    assert s["ttft_s"]["p50"] == pytest.approx(0.5)
    assert set(s["tpot_s"]) == {"p50", "p90", "p99"}
    assert s["bytes_offloaded"]["dram_to_ssd"] == 1.0
    assert s["preemptions"] == 1 and s["cold_start_s"] == 2.5
    assert s["cold_start_stages_s"] == {"engine_start": 2.5}


def test_requests_table_has_nulls_for_events_not_yet_happened() -> None:
    table = requests_table([_records()])
    assert table.num_rows == 4
    assert table.column("replica").to_pylist() == [3, 3, 3, 3]
    assert table.column("finish_s").null_count == 1
    assert table.column("tpot_s").null_count == 2
