"""Every router that selects with moe.topk.top_k routes bit-identically when its row kernel is replaced
by a plain stable argsort, at DeepSeek-V3 size (256 experts, top-8, shortlists of 16), where top_k screens
by groups.
"""

from __future__ import annotations

import numpy as np
import pytest

from gigawatt.moe import ExpertMap, GpuState, SystemView, make_router, synthetic_logits
from gigawatt.moe import topk as topk_module
from gigawatt.moe.chunks import CHUNK_ROWS

from .test_router_equivalence import assert_same

N_EXPERTS = 256


def _stable_sort_chunk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int32)  # ties: lower column first
    value = np.take_along_axis(scores, index, axis=1)
    if np.isnan(value).any():
        raise ValueError("router scores contain NaN")
    index[value == -np.inf] = -1
    return index, value


@pytest.fixture(scope="module")
def logits() -> np.ndarray:
    matrix = synthetic_logits(
        2 * CHUNK_ROWS + 300, N_EXPERTS, rng=np.random.default_rng(11), zipf_exponent=1.0
    )
    matrix[:700] = np.round(matrix[:700] * 4) / 4  # exact ties within rows
    matrix[700:800, ::3] = -np.inf
    return matrix


def _system() -> SystemView:
    speed = np.ones(32)
    speed[3] = 0.6  # throttled
    speed[9] = 0.0  # failed
    queue = np.zeros(32)
    queue[5] = 500.0
    return SystemView(
        expert_map=ExpertMap.from_expert_gpu(np.arange(N_EXPERTS) // 8), gpus=GpuState.of(speed, queue)
    )


CASES = [
    ("topk", {}, False),
    ("topk", {"score": "sigmoid", "normalize": False}, True),
    ("noisy_topk", {}, False),
    ("capacity", {"capacity_factor": 1.1}, False),
    ("group_limited", {"n_groups": 8, "topk_groups": 4}, False),
    ("bias_balanced", {"gamma": 0.01}, True),
    ("top_p", {"p": 0.5}, False),
    ("adaptive_k", {"k_min": 4}, False),
    ("two_stage", {"shortlist": 16, "alpha": 0.3}, True),
    ("two_stage", {"shortlist": 16, "alpha": 0.3}, False),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("name", "options", "with_system"), CASES)
def test_same_routing_as_a_stable_sort(
    logits: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    name: str,
    options: dict,
    with_system: bool,
) -> None:
    system = _system() if with_system else SystemView(load=0.5)

    def route_batches() -> list:
        router = make_router(name, k=8, workers=workers, **options)
        # Three batches: bias_balanced moves its bias between them.
        return [router.route(logits, system=system, rng=np.random.default_rng(batch)) for batch in range(3)]

    fast = route_batches()
    with monkeypatch.context() as patch:
        patch.setattr(topk_module, "_top_k_chunk", _stable_sort_chunk)
        exact = route_batches()
    for new, old in zip(fast, exact, strict=True):
        assert_same(new, old)
