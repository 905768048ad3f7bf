import numpy as np
import pytest

from gigawatt.arch.spec import load_model
from gigawatt.catalog import gpu
from gigawatt.power.dvfs import clock_grid
from gigawatt.workload.serving.iteration import IterationModel

H100 = gpu("H100-SXM")
CLOCKS = clock_grid(H100)
MAX_BIN = len(CLOCKS) - 1


def bin_of(mhz: float) -> int:
    return int(np.argmin(np.abs(CLOCKS - mhz)))


@pytest.fixture(scope="session")
def llama8b() -> IterationModel:
    return IterationModel(load_model("Llama-3.1-8B"), H100, 1, 1, "bf16", CLOCKS, 8)
