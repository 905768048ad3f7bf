import numpy as np
import pytest

from gigawatt.arch.kv import kv_bytes_per_token
from gigawatt.arch.spec import load_model
from gigawatt.workload.serving.iteration import IterationModel
from gigawatt.workload.serving.kv_cache import PagedKvCache
from gigawatt.workload.serving.memory import (
    HBM_USABLE_FRACTION,
    HostTiers,
    hbm_kv_blocks,
    kv_bytes_per_token_per_gpu,
)
from gigawatt.workload.serving.replica import ReplicaServer, SchedulerConfig
from gigawatt.workload.serving.traces import poisson_arrivals

from .conftest import H100, MAX_BIN


def _cache(hbm: int = 10, dram: int = 4, ssd: int = 100) -> PagedKvCache:
    return PagedKvCache(
        hbm, dram, ssd, 16, block_bytes_per_gpu=1e6, gpus=2, pcie_bandwidth=64e9, ssd_bandwidth=7e9
    )


def test_blocks_conserved_through_offload_spill_and_restore() -> None:
    kv = _cache()
    kv.track(3)
    kv.allocate(np.array([0, 1, 2]), np.array([3, 3, 2]))
    assert kv.free_hbm == 2
    assert kv.offload(0) == pytest.approx(3e6 / 64e9)  # fits in DRAM: PCIe only
    seconds = kv.offload(1)  # DRAM has 1 block left: 2 blocks spill on to SSD
    assert seconds == pytest.approx(3e6 / 64e9 + 2e6 / 7e9)
    assert kv.used == {"hbm": 2, "dram": 4, "ssd": 2}
    kv.check()
    assert kv.restore(1) == pytest.approx(3e6 / 64e9 + 2e6 / 7e9)
    assert kv.bytes_moved == {
        "hbm_to_dram": 2 * 6e6, "dram_to_ssd": 2 * 2e6, "ssd_to_dram": 2 * 2e6, "dram_to_hbm": 2 * 3e6
    }  # fmt: skip
    kv.release(np.array([0, 1, 2]))
    assert kv.used == {"hbm": 0, "dram": 0, "ssd": 0}
    kv.check()


def test_cannot_allocate_beyond_capacity_or_offload_without_room() -> None:
    kv = _cache(hbm=4, dram=1, ssd=1)
    kv.track(2)
    kv.allocate(np.array([0]), np.array([3]))
    with pytest.raises(RuntimeError):
        kv.allocate(np.array([1]), np.array([2]))
    assert kv.offload(0) is None
    kv.check()


def test_hbm_blocks_from_weights_usable_fraction_and_tp_split() -> None:
    m = load_model("Llama-3.1-8B")
    per_token = kv_bytes_per_token(m, "bf16")
    assert kv_bytes_per_token_per_gpu(m, "bf16", 4, 1) == per_token / 4  # 8 KV heads over 4 ranks
    assert kv_bytes_per_token_per_gpu(m, "bf16", 8, 2) == per_token / 16
    blocks = hbm_kv_blocks(m, H100, "bf16", 1, 1, 16, 2048)
    assert 0 < blocks * 16 * per_token < HBM_USABLE_FRACTION * H100.hbm_capacity - 16e9


def _overloaded(llama8b: IterationModel, policy: str, host: HostTiers | None = None) -> ReplicaServer:
    config = SchedulerConfig(max_num_batched_tokens=4096, max_num_seqs=64, preemption=policy)
    server = ReplicaServer(llama8b, config, host=host, kv_blocks=400, serving_at_start=True)  # 6,400 tokens
    server.add_arrivals(*poisson_arrivals(120, 40.0, np.random.default_rng(3), 300, 300))
    return server


def _run(server: ReplicaServer, seconds: int) -> None:
    for t in range(1, seconds + 1):
        server.advance(float(t), MAX_BIN, True)
        server.kv.check()  # blocks conserved, each tier within capacity


@pytest.mark.parametrize("policy", ["recompute", "offload"])
def test_tight_cache_preempts_but_never_overflows(llama8b: IterationModel, policy: str) -> None:
    server = _overloaded(llama8b, policy)
    _run(server, 60)
    stats, records = server.stats(), server.records()
    assert np.isfinite(records.finish_s).all()
    assert stats.preemptions > 0
    assert stats.kv_utilisation_peak <= 1.0
    moved = stats.bytes_moved
    if policy == "recompute":
        assert stats.recomputed_tokens > 0
        assert sum(moved.values()) == 0.0
    else:
        assert stats.recomputed_tokens == 0
        assert moved["hbm_to_dram"] > 0
        assert moved["dram_to_hbm"] == pytest.approx(moved["hbm_to_dram"])


def test_offload_spills_to_ssd_when_dram_is_full(llama8b: IterationModel) -> None:
    tiny_dram = HostTiers(dram_bytes_per_gpu=50 * 16 * kv_bytes_per_token(llama8b.model, "bf16"))
    server = _overloaded(llama8b, "offload", tiny_dram)
    _run(server, 60)
    moved = server.stats().bytes_moved
    assert moved["dram_to_ssd"] > 0
    assert moved["ssd_to_dram"] == pytest.approx(moved["dram_to_ssd"])
    assert np.isfinite(server.records().finish_s).all()
