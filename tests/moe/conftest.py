import numpy as np
import pytest

from gigawatt.moe import synthetic_logits


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def logits(rng: np.random.Generator) -> np.ndarray:
    """A skewed batch: 5000 tokens over 64 experts."""
    return synthetic_logits(5000, 64, rng=rng, zipf_exponent=1.0)
