"""Memory per GPU of a training configuration: ZeRO sharding by hand, activations by recompute policy, fit."""

from __future__ import annotations

import pytest

from gigawatt.arch.params import count_params
from gigawatt.catalog import gpu
from gigawatt.scenario import Training
from gigawatt.workload.serving.steady import WorkloadError
from gigawatt.workload.training.configs import configs_of, job_of
from gigawatt.workload.training.memory import memory_per_gpu
from gigawatt.workload.training.planner import enumerate_configs
from helpers import scenario

H100 = gpu("H100-SXM")


def memory(**changes):
    spec = {
        "kind": "training",
        "model": "Llama-3.1-8B",
        "sequence_length": 4096,
        "global_batch_sequences": 64,
        "parallel": {"tensor": 2, "pipeline": 1, "data": 8},
        "recompute": "none",
    }
    spec.update(changes)
    w = Training.model_validate(spec)
    return memory_per_gpu(job_of(w, H100, 8), configs_of(w)).breakdown()


@pytest.mark.parametrize(
    ("zero", "weights", "grads", "optimizer"),
    [(0, 2, 4, 12), (1, 2, 4, 12 / 8), (2, 2, 4 / 8, 12 / 8), (3, 2 / 8, 4 / 8, 12 / 8)],
)
def test_zero_stages_shard_model_state_over_data_parallel_ranks(zero, weights, grads, optimizer):
    # Megatron-LM's distributed optimizer: bf16 weight 2 B, fp32 gradient 4 B, fp32 master + Adam 12 B.
    from gigawatt.arch.spec import load_model

    params = count_params(load_model("Llama-3.1-8B")).total / 2  # TP2, one stage holds everything
    m = memory(zero=zero)
    gathered = m["weights"] - weights * params if zero == 3 else 0.0
    assert m["weights"] - gathered == pytest.approx(weights * params, rel=1e-9)
    assert m["gradients"] == pytest.approx(grads * params, rel=1e-9)
    assert m["optimizer"] == pytest.approx(optimizer * params, rel=1e-9)
    if zero == 3:  # two layers' weights gathered ahead of use
        assert 0 < gathered < 0.1 * 2 * params


def test_recomputation_trades_activation_memory():
    none, selective, full = (memory(recompute=r)["activations"] for r in ("none", "selective", "full"))
    assert none > selective > full > 0


def test_a_config_that_does_not_fit_names_its_bytes_and_the_nearest_that_fits():
    data = {
        "workload": {
            "kind": "training",
            "model": "Llama-3.1-70B",
            "sequence_length": 8192,
            "global_batch_sequences": 64,
            "parallel": {"tensor": 1, "pipeline": 1, "data": 32},
            "recompute": "none",
            "zero": 0,
        },
    }
    from gigawatt.engine import Engine

    with pytest.raises(WorkloadError) as err:
        Engine(scenario("balanced", **{"workload": data["workload"]}))
    text = str(err.value)
    assert "GB per GPU" in text and "nearest that fits: " in text and "TP1 × CP1 × PP1 × DP32" in text


def test_every_enumerated_config_that_fits_is_within_usable_memory():
    w = Training.model_validate(
        {
            "kind": "training",
            "model": "Llama-3.1-70B",
            "sequence_length": 4096,
            "global_batch_sequences": 256,
            "parallel": {"tensor": 8, "pipeline": 4, "data": 2},
        }
    )
    job = job_of(w, H100, 8)
    cfg = enumerate_configs(job, 64)
    mem = memory_per_gpu(job, cfg)
    assert len(cfg) > 100 and 0 < mem.fits.sum() < len(cfg)
    assert (mem.total[mem.fits] <= mem.usable).all()
