"""Python-float paths of the request-level hot loop against the NumPy paths they replace, bit for bit."""

import numpy as np
import pytest

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.power.dvfs import clock_grid
from gigawatt.workload.serving import replica
from gigawatt.workload.serving.iteration import IterationModel, _pairwise
from gigawatt.workload.serving.replica import _blocks_in_use

from .golden_cases import CASES, run_case

# Dense at TP1; MoE with MLA's decode-only operators over tensor and pipeline parallelism; dense over
# tensor parallelism on another GPU (another overlap exponent).
MODELS = [
    ("Llama-3.1-8B", "H100-SXM", 1, 1, "bf16"),
    ("DeepSeek-V3", "H100-SXM", 8, 2, "fp8"),
    ("Llama-3.1-70B", "A100-SXM-80GB", 4, 1, "bf16"),
]


@pytest.mark.parametrize("n", [1, 5, 7, 8, 9, 16, 17, 18, 25, 40, 128])
def test_pairwise_expression_sums_as_numpy_does(n: int) -> None:
    """The generated sum adds in NumPy's pairwise order (a left-to-right sum differs from n = 9 on), with
    zero terms left out."""
    rng = np.random.default_rng(n)
    for _ in range(200):
        values = rng.random(n) * rng.choice([1e-6, 1.0, 1e6], n)
        values[rng.random(n) < 0.3] = 0.0
        terms = [None if v == 0.0 else f"x[{j}]" for j, v in enumerate(values)]
        got = eval(_pairwise(terms), {"x": values.tolist()})
        assert got == np.add.reduce(values)


def test_pairwise_refuses_more_than_one_block() -> None:
    with pytest.raises(ValueError, match="pairwise block"):
        _pairwise(["1.0"] * 129)


@pytest.mark.parametrize("spec", MODELS, ids=[m[0] for m in MODELS])
def test_scalar_iteration_times_equal_array_path(spec: tuple[str, str, int, int, str]) -> None:
    name, gpu_name, tp, pp, precision = spec
    card = gpu(gpu_name)
    scalar = IterationModel(load_model(name), card, tp, pp, precision, clock_grid(card), 8)
    arrays = IterationModel(load_model(name), card, tp, pp, precision, clock_grid(card), 8)
    assert scalar._scalar.ready
    arrays._scalar.ready = False
    rng = np.random.default_rng(7)
    for _ in range(400):
        clock = int(rng.integers(len(scalar.clocks)))
        seqs = int(rng.integers(0, 4))
        decoding = int(rng.integers(0, 200))
        tokens = float(rng.integers(1, 4096)) if seqs else 0.0
        offset = float(rng.integers(0, 20_000)) if seqs else 0.0
        batch = (
            tokens,
            float(seqs),
            tokens * offset + tokens * (tokens + 1) / 2,
            offset + tokens,
            float(decoding),
            float(rng.integers(decoding, 400_000)) + decoding if decoding else 0.0,
        )
        assert scalar.iteration_time(clock, *batch) == arrays.iteration_time(clock, *batch)
        if decoding:
            want = arrays.decode_time(clock, decoding, batch[5])
            assert scalar.decode_time(clock, decoding, int(batch[5])) == want
            assert scalar.decode_timer(clock)(decoding, int(batch[5])) == want


def test_scalar_path_stands_down_for_numpy_fast_powers() -> None:
    """NumPy evaluates x**2 and x**0.5 otherwise than pow(): an overlap exponent of 2 keeps the arrays."""
    model = IterationModel(load_model("Llama-3.1-8B"), gpu("H100-SXM"), 1, 1, "bf16", np.array([1980.0]), 8)
    model._overlap_p = 2.0
    assert not type(model._scalar)(model).ready


def _blocks_grid(kv: np.ndarray, left: np.ndarray, k: int, block: int, other: int) -> list[int]:
    """The array expression of the long-window path: ceil((kv + j) / block) while j ≤ left."""
    steps = np.arange(1, k + 1)
    grid = (kv[:, None] + (steps + (block - 1))) // block
    grid *= left[:, None] >= steps
    return (np.add.reduce(grid, axis=0) + other).tolist()


def test_blocks_in_use_equal_the_grid() -> None:
    rng = np.random.default_rng(11)
    for _ in range(2000):
        block = int(rng.choice([1, 4, 16]))
        n, k = int(rng.integers(1, 60)), int(rng.integers(1, 3 * block + 1))
        kv = rng.integers(0, 5000, n)
        # Half the draws with nobody finishing within the window, half with some finishing.
        left = rng.integers(k if rng.random() < 0.5 else 1, 3 * k + 2, n)
        other = int(rng.integers(0, 1000))
        want = _blocks_grid(kv, left, k, block, other)
        assert _blocks_in_use(kv.tolist(), left.tolist(), k, block, other) == want


@pytest.mark.parametrize("name", list(CASES))
def test_short_windows_one_by_one_equal_arrays(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Short decode windows evaluate their iterations one by one in Python floats; forcing the array path
    for every window gives the same metrics, bit for bit."""
    want = run_case(name)
    monkeypatch.setattr(replica, "_SCALAR_RUN", 0)
    assert run_case(name) == want
