"""`validate operators` on synthetic folders and on bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigawatt.calibration.cli import app

from .conftest import _write, write_synthetic

runner = CliRunner()


def _fails(path: Path, *expected: str) -> None:
    result = runner.invoke(app, ["operators", str(path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    message = result.output.strip()
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in message
    for word in expected:
        assert word in message


def test_synthetic_folder_runs(synthetic: Path) -> None:
    result = runner.invoke(app, ["operators", str(synthetic)])
    assert result.exit_code == 0, result.output
    assert "attn_pre_proj" in result.output and "toy_nvswitch" in result.output
    assert result.output.strip().splitlines()[-1].startswith("MdAPE ")


def test_missing_folder(tmp_path: Path) -> None:
    _fails(tmp_path / "nowhere", str(tmp_path / "nowhere"), "no such folder", "mlp.csv")


def test_folder_without_measurements(tmp_path: Path) -> None:
    _fails(tmp_path, str(tmp_path), "no measurement files", "all_reduce.csv")


def test_mlp_without_needed_columns(tmp_path: Path) -> None:
    path = tmp_path / "compute" / "a100" / "org" / "m" / "mlp.csv"
    _write(path, {"num_tokens": [1, 2], "n_embd": [4096, 4096]})
    _fails(tmp_path, str(path), "missing column(s)", "n_head", "time_stats.attn_pre_proj.median")


def test_all_reduce_without_needed_columns(tmp_path: Path) -> None:
    path = tmp_path / "network" / "x" / "all_reduce.csv"
    _write(path, {"size": [1024], "num_workers": [2]})
    _fails(tmp_path, str(path), "devices_per_node", "time_stats.all_reduce.median")


def test_non_numeric_column(tmp_path: Path) -> None:
    path = tmp_path / "network" / "x" / "all_reduce.csv"
    _write(
        path,
        {"size": ["big"], "num_workers": [2], "devices_per_node": [2], "time_stats.all_reduce.median": [0.1]},
    )
    _fails(tmp_path, str(path), "size", "not numeric")


def test_not_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "network" / "x" / "all_reduce.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a,b\n1,2,3,4\n\x00")
    _fails(tmp_path, str(path))


def test_unknown_gpu_folder(tmp_path: Path) -> None:
    root = write_synthetic(tmp_path / "p")
    (root / "compute" / "a100").rename(root / "compute" / "tpu9")
    _fails(root, "tpu9", "GPU catalog")


@pytest.mark.parametrize("sub", ["compute", "network"])
def test_pointing_at_a_subfolder_works(synthetic: Path, sub: str) -> None:
    (synthetic / "network" / "toy_nvswitch").rename(synthetic / "network" / "h100_dgx")  # a fitted set-up
    result = runner.invoke(app, ["operators", str(synthetic / sub)])
    assert result.exit_code == 0, result.output
    assert ("all-reduce  MdAPE" in result.output) == (sub == "network")


def test_network_setup_without_fit_is_named(synthetic: Path) -> None:
    result = runner.invoke(app, ["operators", str(synthetic)])
    assert "skipped network/toy_nvswitch: 900 rows" in result.output
    _fails(synthetic / "network", "no row can be predicted", "toy_nvswitch", "h100_dgx")
