"""`validate operators` on synthetic folders and on bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigawatt.calibration import vidur
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


# ---------------------------------------------------------------- hardened reading (regular files, bounded)

ALL_REDUCE_HEADER = "size,num_workers,devices_per_node,time_stats.all_reduce.median\n"


def _all_reduce(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "network" / "x" / "all_reduce.csv"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_a_fifo_measurement_file_is_refused_without_hanging(tmp_path: Path) -> None:
    from safety.hangs import fifo_writer_after

    path = tmp_path / "network" / "x" / "all_reduce.csv"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    with fifo_writer_after(path) as hung:
        _fails(tmp_path, str(path), "must be a regular file, not a FIFO")
    assert not hung, "reading the measurements blocked on the FIFO"


def test_a_device_measurement_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "network" / "x" / "all_reduce.csv"
    path.parent.mkdir(parents=True)
    path.symlink_to("/dev/zero")
    _fails(tmp_path, str(path), "must be a regular file, not a character device")


def test_a_measurement_file_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vidur, "MAX_BYTES", 64)
    path = _all_reduce(tmp_path, ALL_REDUCE_HEADER + "1024,2,2,0.1\n" * 10)
    _fails(tmp_path, str(path), "more than the 64 allowed")


def test_a_ragged_row_names_its_line(tmp_path: Path) -> None:
    path = _all_reduce(tmp_path, ALL_REDUCE_HEADER + "1024,2,2,0.1\n2048,2,2,0.2,9\n")
    _fails(tmp_path, f"{path}, line 3", "'2048,2,2,0.2,9'", "one value per header column")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1024,2,2,0.1\n0,2,2,0.1\n", ", line 3: column size is 0; must be a positive number"),
        ("1024,2,2,0.1\n1024,2,,0.1\n", ", line 3: column devices_per_node is None; must be a positive"),
        ("1024,-2,2,0.1\n", ", line 2: column num_workers is -2; must be a positive number"),
        ("1e999,2,2,0.1\n", ", line 2: column size is inf; must be a positive number"),
    ],
)
def test_a_bad_value_names_its_line_and_column(tmp_path: Path, rows: str, expected: str) -> None:
    path = _all_reduce(tmp_path, ALL_REDUCE_HEADER + rows)
    _fails(tmp_path, f"{path}{expected}")


def test_a_repeated_column_is_refused(tmp_path: Path) -> None:
    header = "size," + ALL_REDUCE_HEADER
    path = _all_reduce(tmp_path, header + "1,1,2,2,0.1\n")
    _fails(tmp_path, str(path), "size appear more than once")


def test_gated_mlp_must_be_true_or_false(tmp_path: Path, synthetic: Path) -> None:
    path = next((synthetic / "compute").glob("*/*/*/mlp.csv"))
    lines = path.read_text().splitlines()
    header = [name.strip('"') for name in lines[0].split(",")]
    column = header.index("use_gated_mlp")
    row = lines[3].split(",")
    row[column] = "maybe"
    lines[3] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    _fails(synthetic, f"{path}, line 4: column use_gated_mlp is 'maybe'; must be True or False")
