"""The power fit recovers known parameters and reports a time-blocked held-out error; compare overlays a
run on telemetry; a twin run written as an nvidia-smi log reads back as the same columns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from tests.helpers import scenario
from typer.testing import CliRunner

from gigawatt import catalog
from gigawatt.cli import app
from gigawatt.engine import Engine
from gigawatt.ingest.calibrate import fit_power, yaml_snippet
from gigawatt.ingest.compare import compare
from gigawatt.ingest.read import ingest
from gigawatt.ingest.schema import DRAM_ACTIVE
from gigawatt.ingest.table import IngestError
from gigawatt.power.dvfs import clock_grid, voltage
from gigawatt.power.gpu_power import gpu_power
from gigawatt.power.leakage import Leakage
from gigawatt.telemetry import ACTIVE, GPU_TEMP, POWER, REASONS, SM_CLOCK

DATA = Path(__file__).resolve().parent.parent / "data" / "telemetry"
H100 = catalog.gpu("H100-SXM")


def _telemetry(gpu, n=400, noise=0.02, seed=3, memory=True, clocks=None, coolant=None) -> pa.Table:
    """Power from the twin's model; with `coolant` (low, high C) the die sits 0.06 K/W above a coolant
    drifting over that range, the GPU's catalog leakage is added at that temperature and the voltage of
    gpu's V-f curve, and the temperature is logged in whole degrees."""
    rng = np.random.default_rng(seed)
    grid = clock_grid(gpu)
    f = grid[rng.integers(0, len(grid), n)] if clocks is None else np.full(n, float(clocks))
    a_c, a_m = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    p = gpu_power(gpu, f, a_c, a_m if memory else 0.0)
    temp = None
    if coolant is not None:
        temp = np.rint(rng.uniform(*coolant, n) + 0.06 * p)
        leak = Leakage.of(catalog.gpu_entry(gpu.name)["thermal"])
        p = p + leak.extra(temp, leak.voltage_scale(voltage(gpu, f) / gpu.voltage_max))
    p = p * np.exp(rng.normal(0, noise, n))
    cols = {"time_s": np.arange(n) * 10.0, POWER: p, SM_CLOCK: f, ACTIVE: a_c}
    if memory:
        cols[DRAM_ACTIVE] = a_m
    if temp is not None:
        cols[GPU_TEMP] = temp
    return pa.table(cols)


def _close(fit, truth, idle=0.03, pmax=0.03, w_m=0.02, knee=80.0, vmin=0.03):
    g = fit.gpu
    assert g.idle_power == pytest.approx(truth.idle_power, rel=idle)
    assert g.power_full_activity == pytest.approx(truth.power_full_activity, rel=pmax)
    assert g.memory_power_fraction == pytest.approx(truth.memory_power_fraction, abs=w_m)
    assert abs(g.voltage_knee_clock - truth.voltage_knee_clock) <= knee
    assert g.voltage_min == pytest.approx(truth.voltage_min, rel=vmin)


def test_recovers_the_catalog_parameters_from_the_synthetic_fixture():
    fit = fit_power(ingest([DATA / "synthetic-h100-power-scrapes.prom"]).table, H100)
    _close(fit, H100)
    assert set(fit.fitted) == {
        "idle_power",
        "power_full_activity",
        "memory_power_fraction",
        "voltage_knee_clock",
        "voltage_min",
    }
    assert (fit.rows_fit, fit.rows_held) == (180, 60)
    # the fixture's power includes the catalog leakage at a logged die temperature of 29-91 C
    assert fit.leakage_separated and any(n.startswith("leakage separated") for n in fit.notes)
    assert fit.mdape_held_catalog < 0.012  # the catalog (the truth) with its leakage: 1 % noise only


def test_the_fixture_without_its_temperature_column_misfits():
    table = ingest([DATA / "synthetic-h100-power-scrapes.prom"]).table.drop_columns([GPU_TEMP])
    fit = fit_power(table, H100)
    assert not fit.leakage_separated and any("leakage not separated" in n for n in fit.notes)
    # the leakage above 30 C rises with power (a hotter die): P_max absorbs it, and the twin adds it again
    assert fit.gpu.power_full_activity > 1.05 * H100.power_full_activity
    assert fit.gpu.idle_power > H100.idle_power


def test_leakage_is_taken_out_at_the_voltage_of_the_fitted_curve():
    truth = dataclasses.replace(
        H100,
        idle_power=95.0,
        power_full_activity=950.0,
        memory_power_fraction=0.3,
        voltage_knee_clock=1300.0,
        voltage_min=0.8,
    )
    fit = fit_power(_telemetry(truth, noise=0.02, coolant=(20.0, 40.0)), H100)
    assert fit.leakage_separated
    _close(fit, truth, idle=0.05, pmax=0.04, w_m=0.03, knee=120.0, vmin=0.04)
    assert 0.008 < fit.mdape_held < 0.025


def test_ignoring_leakage_biases_idle_upward():
    table = _telemetry(H100, noise=0.02, coolant=(35.0, 45.0))  # a warm coolant: the die above 30 C at idle
    separated = fit_power(table, H100)
    ignored = fit_power(table.drop_columns([GPU_TEMP]), H100)
    _close(separated, H100, idle=0.03)
    assert ignored.gpu.idle_power > 1.05 * H100.idle_power
    assert ignored.gpu.power_full_activity > 1.05 * H100.power_full_activity
    # judged without its leakage, the catalog model (here the truth) looks several times worse than noise
    assert separated.mdape_held_catalog < 0.02 < 2 * separated.mdape_held_catalog < ignored.mdape_held_catalog


def test_recovers_other_parameters_than_the_catalog_starts_from():
    truth = dataclasses.replace(
        H100,
        idle_power=95.0,
        power_full_activity=950.0,
        memory_power_fraction=0.3,
        voltage_knee_clock=1300.0,
        voltage_min=0.8,
    )
    fit = fit_power(_telemetry(truth, noise=0.02), H100)  # starts from the catalog's H100
    _close(fit, truth, idle=0.05, pmax=0.04, w_m=0.03, knee=120.0, vmin=0.04)
    # noise of sigma 2 % has a median absolute error of 0.674 * 2 % = 1.35 %: the held-out error sees it
    assert 0.008 < fit.mdape_held < 0.025
    assert fit.mdape_held_catalog > 3 * fit.mdape_held  # the catalog's parameters describe another GPU


def test_held_out_rows_are_the_end_of_the_time_span():
    table = _telemetry(H100, noise=0.005)
    p = table.column(POWER).to_numpy().copy()
    p[-80:] *= 1.2  # the last fifth drifts (a firmware change, a different board)
    fit = fit_power(table.set_column(1, POWER, pa.array(p)), H100, holdout=0.2)
    assert fit.rows_held == 80
    assert fit.mdape_fit < 0.01 and fit.mdape_held == pytest.approx(1 - 1 / 1.2, abs=0.01)


def test_without_memory_activity_w_m_is_kept():
    fit = fit_power(_telemetry(H100, memory=False, noise=0.01), H100)
    assert "memory_power_fraction" not in fit.fitted
    assert fit.gpu.memory_power_fraction == H100.memory_power_fraction
    assert fit.gpu.power_full_activity == pytest.approx(H100.power_full_activity, rel=0.03)
    assert any("memory_power_fraction kept" in n for n in fit.notes)


def test_a_locked_clock_keeps_the_voltage_curve():
    fit = fit_power(_telemetry(H100, clocks=1755, noise=0.01), H100)
    assert "voltage_knee_clock" not in fit.fitted and fit.gpu.voltage_knee_clock == H100.voltage_knee_clock
    assert "voltage_knee_clock" not in yaml_snippet(fit, "x")


def test_snippet_says_what_it_was_fitted_to():
    fit = fit_power(_telemetry(H100), H100)
    text = yaml_snippet(fit, "rack7.parquet")
    assert text.startswith("H100-SXM:\n")
    assert "fitted: gigawatt calibrate power to rack7.parquet, 400 rows (100 held out" in text
    assert f"held-out MdAPE {fit.mdape_held * 100:.1f} %" in text


def test_unfittable_telemetry_is_refused():
    with pytest.raises(IngestError, match="no DCGM_FI_PROF_GR_ENGINE_ACTIVE"):
        fit_power(_telemetry(H100).drop_columns([ACTIVE]), H100)
    with pytest.raises(IngestError, match="only 5 usable rows"):
        fit_power(_telemetry(H100, n=5), H100)
    with pytest.raises(IngestError, match="--holdout"):
        fit_power(_telemetry(H100), H100, holdout=1.5)


@pytest.fixture(scope="module")
def run_table() -> pa.Table:
    sc = scenario(
        "balanced",
        duration="2 min",
        **{"cluster.nodes": 1, "cluster.nodes_per_rack": 1, "recording.interval": "5 s"},
    )
    return Engine(sc).run().timeseries


def test_a_run_against_itself_has_no_error(run_table):
    errors, _ = compare(run_table, run_table)
    assert {e.column for e in errors} == {POWER, GPU_TEMP, SM_CLOCK}
    for e in errors:
        assert e.points == run_table.num_rows and e.bias == 0 and e.mdape == 0 and e.rmse == 0


def test_an_offset_shows_as_bias(run_table):
    p = run_table.column(POWER).to_numpy() + 10.0
    measured = run_table.set_column(run_table.column_names.index(POWER), POWER, pa.array(p))
    power = next(e for e in compare(run_table, measured)[0] if e.column == POWER)
    assert power.bias == pytest.approx(-10.0) and power.rmse == pytest.approx(10.0)
    with pytest.raises(IngestError, match="--offset"):
        compare(run_table, run_table, offset_s=1e6)


def _as_nvidia_smi(table: pa.Table, event_names: bool) -> str:
    """A twin run written as `nvidia-smi --query-gpu=... --format=csv` would log it."""
    reasons = "clocks_event_reasons.active" if event_names else "clocks_throttle_reasons.active"
    lines = [
        f"timestamp, index, power.draw [W], temperature.gpu, clocks.sm [MHz], utilization.gpu [%], {reasons}"
    ]
    start = datetime(2025, 1, 15, tzinfo=UTC).timestamp()
    d = table.to_pydict()
    for i in range(table.num_rows):
        stamp = datetime.fromtimestamp(start + d["time_s"][i], UTC).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        lines.append(
            f"{stamp}, {d['gpu'][i]}, {d[POWER][i]:.2f} W, {d[GPU_TEMP][i]:.0f}, "
            f"{d[SM_CLOCK][i]:.0f} MHz, {d[ACTIVE][i] * 100:.0f} %, 0x{d[REASONS][i]:016x}"
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("event_names", [False, True])
def test_round_trip_through_an_nvidia_smi_log(run_table, tmp_path, event_names):
    path = tmp_path / "node.csv"
    path.write_text(_as_nvidia_smi(run_table, event_names))
    got = ingest([path]).table
    shared = [POWER, GPU_TEMP, SM_CLOCK, ACTIVE, REASONS, "gpu"]
    assert set(shared) <= set(got.column_names) and got.num_rows == run_table.num_rows
    t0 = run_table.column("time_s")[0].as_py()
    assert np.allclose(got.column("time_s").to_numpy() + t0, run_table.column("time_s").to_numpy())
    assert got.column(REASONS).to_pylist() == run_table.column(REASONS).to_pylist()
    assert got.column("gpu").to_pylist() == run_table.column("gpu").to_pylist()
    for col, tol in ((POWER, 0.005), (GPU_TEMP, 0.5), (SM_CLOCK, 0.5), (ACTIVE, 0.005)):
        assert np.abs(got.column(col).to_numpy() - run_table.column(col).to_numpy()).max() <= tol
    errors = {e.column: e for e in compare(run_table, got, offset_s=t0)[0]}
    assert errors[POWER].mdape < 1e-4 and errors[SM_CLOCK].rmse == 0
    assert errors[GPU_TEMP].rmse < 0.5  # nvidia-smi prints whole degrees


def test_cli_ingest_calibrate_compare(run_table, tmp_path):
    import pyarrow.parquet as pq

    runner = CliRunner()
    res = runner.invoke(
        app, ["ingest", str(DATA / "synthetic-h100-power-scrapes.prom"), "--out", str(tmp_path / "t")]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["calibrate", "power", str(tmp_path / "t"), "--gpu", "h100", "--holdout", "0.3"])
    assert res.exit_code == 0, res.output
    assert "held out" in res.output and "voltage_knee_clock: {value:" in res.output
    assert "leakage separated" in res.output
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pq.write_table(run_table, run_dir / "timeseries.parquet")
    res = runner.invoke(app, ["compare", str(run_dir), str(run_dir), "--html", str(tmp_path / "c.html")])
    assert res.exit_code == 0, res.output
    assert "0.0%" in res.output and "plotly" in (tmp_path / "c.html").read_text()[:100_000].lower()


def test_cli_bad_input_exits_2_naming_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp, power.draw [W]\n2024/03/07 00:20:37.071, lots\n")
    res = CliRunner().invoke(app, ["ingest", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "bad.csv:2: column 2 (power.draw)" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()
    res = CliRunner().invoke(app, ["calibrate", "power", str(bad), "--gpu", "H100-SXM"])
    assert res.exit_code == 2 and "bad.csv" in res.output
    res = CliRunner().invoke(app, ["calibrate", "power", str(bad), "--gpu", "H999"])
    assert res.exit_code == 2 and "--gpu" in res.output
