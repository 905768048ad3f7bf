"""Predictions against vidur's measured timings (skipped, with the reason, when the data is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gigawatt.calibration.calibrate import Calibration, fit_all, render_yaml
from gigawatt.calibration.cli import app
from gigawatt.calibration.fit import mdape
from gigawatt.calibration.predict import predict_all_reduce, predict_compute
from gigawatt.calibration.vidur import find_files, read_all_reduce, read_compute

from .conftest import DATA, REPO

LINEAR_TARGET, ALL_REDUCE_TARGET = 8.0, 15.0


def test_linear_operators_within_target(real_data: Path) -> None:
    rows = read_compute(find_files(real_data)[0])
    assert len(rows) > 60_000
    pred = predict_compute(rows)
    assert mdape(pred, rows.measured) <= LINEAR_TARGET
    for g in np.unique(rows.gpu):  # every GPU on its own, not only the pooled figure
        mask = rows.gpu == g
        assert mdape(pred[mask], rows.measured[mask]) <= LINEAR_TARGET, g


def test_all_reduce_within_target(real_data: Path) -> None:
    rows = read_all_reduce(find_files(real_data)[1])
    pred = predict_all_reduce(rows)
    assert np.isfinite(pred).all()
    assert mdape(pred, rows.measured) <= ALL_REDUCE_TARGET


@pytest.fixture(scope="module")
def refit() -> Calibration:
    if not DATA.is_dir():
        pytest.skip(f"measured data not found at {DATA} (see ../shared/data/README.md)")
    return fit_all(DATA, "../shared/data/profiling")


def _close(fresh: object, committed: object) -> None:
    """Same structure and text; numbers equal to the 4 significant digits written (allowing one ulp of it)."""
    if isinstance(fresh, dict) and isinstance(committed, dict):
        assert fresh.keys() == committed.keys()
        for key in fresh:
            _close(fresh[key], committed[key])
    elif isinstance(fresh, list) and isinstance(committed, list):
        assert len(fresh) == len(committed)
        for a, b in zip(fresh, committed, strict=True):
            _close(a, b)
    elif isinstance(fresh, float | int) and not isinstance(fresh, bool):
        assert fresh == pytest.approx(committed, rel=2e-3)
    else:
        assert fresh == committed


def test_committed_calibration_is_the_fit_of_the_data(refit: Calibration) -> None:
    # The catalog must hold what scripts/fit_roofline.py writes for this data (a different BLAS may
    # move the last written digit, hence the tolerance instead of byte equality).
    fresh = yaml.safe_load(render_yaml(refit, "../shared/data/profiling"))
    committed_file = REPO / "src" / "gigawatt" / "catalog" / "calibration.yaml"
    committed = yaml.safe_load(committed_file.read_text(encoding="utf-8"))
    committed.pop("roofline_published")  # scripts/fit_published.py's (checked in test_published.py)
    _close(fresh, committed)


def test_held_out_error_within_target(refit: Calibration) -> None:
    for name, fit in refit.roofline.items():
        assert fit.mdape_held_out is not None and fit.mdape_held_out <= LINEAR_TARGET, name


def test_cli_prints_figures(real_data: Path) -> None:
    result = CliRunner().invoke(app, ["operators", str(real_data)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert any(line.startswith("linear ops  MdAPE") for line in lines)
    assert any(line.startswith("all-reduce  MdAPE") for line in lines)
    assert lines[-1].startswith("MdAPE ") and lines[-1].endswith("%")
    assert float(lines[-1].split()[1].rstrip("%")) <= LINEAR_TARGET
