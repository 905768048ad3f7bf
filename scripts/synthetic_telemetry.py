"""Write tests/data/telemetry/synthetic-h100-power-scrapes.prom: dcgm-exporter scrapes of one H100-SXM
drawn from the twin's own power model (gigawatt.power.gpu_power plus the leakage of gigawatt.power.leakage,
catalog parameters) with 1 % log-normal noise, for testing that `gigawatt calibrate power` recovers the
catalog's parameters. Synthetic, not measured: a clock sweep (as under `nvidia-smi -lgc`) with random
graphics and memory activity; the die sits COOLANT_RISE_K_PER_W above a coolant that drifts over
COOLANT_C, so the leakage varies with the power and apart from it (some scrapes below the leakage's 30 C
reference), and the temperature is reported in whole degrees as DCGM does.

    PYTHONPATH=src python scripts/synthetic_telemetry.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gigawatt import catalog
from gigawatt.ingest.schema import DRAM_ACTIVE
from gigawatt.power.dvfs import clock_grid, voltage
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.leakage import Leakage
from gigawatt.telemetry import ACTIVE, GPU_TEMP, POWER, SM_CLOCK

OUT = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "data"
    / "telemetry"
    / "synthetic-h100-power-scrapes.prom"
)
SCRAPES = 240
INTERVAL_MS = 15_000
START_MS = 1_700_000_000_000
NOISE = 0.01
COOLANT_C = (20.0, 40.0)
# assumption: ~0.06 K/W from die to coolant, an H100 cold plate's order (80 C at 700 W over 25 C water)
COOLANT_RISE_K_PER_W = 0.06
LABELS = 'gpu="0",UUID="GPU-synthetic-0",Hostname="synthetic",modelName="NVIDIA H100 80GB HBM3"'


def main() -> None:
    gpu = catalog.gpu("H100-SXM")
    rng = np.random.default_rng(0)
    grid = clock_grid(gpu)
    clocks = grid[rng.integers(0, len(grid), SCRAPES)]
    a_c, a_m = rng.uniform(0, 1, SCRAPES), rng.uniform(0, 1, SCRAPES)
    noise = np.exp(rng.normal(0, NOISE, SCRAPES))
    dynamic = gpu_power(gpu, clocks, a_c, a_m)
    temp = np.rint(rng.uniform(*COOLANT_C, SCRAPES) + COOLANT_RISE_K_PER_W * dynamic)
    leak = Leakage.of(catalog.gpu_entry(gpu.name)["thermal"])
    power = (dynamic + leak.extra(temp, leak.voltage_scale(voltage(gpu, clocks) / gpu.voltage_max))) * noise
    lines = ["# synthetic: gigawatt's H100-SXM power + leakage, 1 % noise (scripts/synthetic_telemetry.py)"]
    for i in range(SCRAPES):
        ts = START_MS + i * INTERVAL_MS
        for name, value in (
            (POWER, f"{power[i]:.3f}"),
            (SM_CLOCK, f"{clocks[i]:.0f}"),
            (ACTIVE, f"{a_c[i]:.4f}"),
            (DRAM_ACTIVE, f"{a_m[i]:.4f}"),
            (GPU_TEMP, f"{temp[i]:.0f}"),
        ):
            lines.append(f"{name}{{{LABELS}}} {value} {ts}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
