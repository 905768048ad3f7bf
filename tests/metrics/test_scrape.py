"""Scrape `gigawatt run --metrics-port` over HTTP while it runs, as Prometheus would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytest.importorskip("prometheus_client", reason="live metrics need prometheus-client: pip install .[metrics]")

import gigawatt
from gigawatt import catalog
from gigawatt.metrics.labels import LABEL_NAMES
from helpers import EXAMPLES, example_dict, with_changes
from prom_text import parse_exposition

DCGM_TYPES = {
    "DCGM_FI_DEV_POWER_USAGE": "gauge",
    "DCGM_FI_DEV_GPU_TEMP": "gauge",
    "DCGM_FI_DEV_SM_CLOCK": "gauge",
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "gauge",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "counter",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": "gauge",
    "DCGM_FI_DEV_XID_ERRORS": "gauge",
}
ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
DURATION_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[str, tuple[str, list]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read().decode()
    except OSError:
        return None
    return parse_exposition(text) if text else None


def _value(got: dict[str, tuple[str, list]], name: str) -> float:
    return got[name][1][0][1]


def test_scrapes_during_a_run_show_dcgm_series_and_advancing_time(tmp_path):
    data = with_changes(example_dict("balanced"), duration="60 s", **{"recording.interval": "1 s"})
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(data))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(gigawatt.__file__).parents[1])}
    args = ["run", str(path), "--out", str(tmp_path / "out"), "--metrics-port", str(port)]
    args += ["--metrics-speed", "15", "--metrics-hold", "30"]  # 4 s of wall time, then the final values
    cmd = [sys.executable, "-c", "from gigawatt.cli import main; main()", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        scrapes = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = _scrape(port)
            if got is not None and "gigawatt_sim_time_seconds" in got:
                scrapes.append(got)
                if _value(got, "gigawatt_sim_time_seconds") >= DURATION_S:
                    break
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.3)
        times = [_value(g, "gigawatt_sim_time_seconds") for g in scrapes]
        assert times[-1] == DURATION_S
        assert len(set(times)) >= 3 and times == sorted(times)  # simulated time advanced between scrapes
    finally:
        proc.terminate()
        proc.wait(30)

    gpu = catalog.gpu("H100-SXM")
    cv = 3 * 0.04  # power spread of the default variation, at ±3 sigma
    first, last = scrapes[0], scrapes[-1]
    for got in (first, last):
        for name, typ in DCGM_TYPES.items():
            assert got[name][0] == typ, name
            assert len(got[name][1]) == 32, name
        if "DCGM_FI_DEV_MEMORY_TEMP" in got:
            assert got["DCGM_FI_DEV_MEMORY_TEMP"][0] == "gauge"
        power = got["DCGM_FI_DEV_POWER_USAGE"][1]
        assert all(set(labels) == set(LABEL_NAMES) for labels, _ in power)
        assert {lb["Hostname"] for lb, _ in power} == {f"node-{i:05d}" for i in range(4)}
        assert {lb["modelName"] for lb, _ in power} == {"H100-SXM"}
        watts = [w for _, w in power]
        assert all(gpu.idle_power * (1 - cv) <= w <= gpu.tdp for w in watts)
        # The per-GPU series and the facility's total are the same interval's means.
        assert sum(watts) == pytest.approx(_value(got, "gigawatt_gpu_power_watts"), rel=1e-9)
        it, facility = _value(got, "gigawatt_it_power_watts"), _value(got, "gigawatt_facility_power_watts")
        assert facility >= it > sum(watts)
        assert _value(got, "gigawatt_pue") == pytest.approx(facility / it, rel=1e-9)
        assert _value(got, "gigawatt_output_tokens_per_second") > 0
        assert len(got["gigawatt_cdu_supply_celsius"][1]) == 1
        for _, clock in got["DCGM_FI_DEV_SM_CLOCK"][1]:
            assert 0 < clock <= gpu.clock_boost
    energy = [{lb["UUID"]: v for lb, v in g[ENERGY][1]} for g in (first, last)]
    assert all(energy[1][u] > energy[0][u] > 0 for u in energy[0])  # a counter: it only grows


def test_a_busy_port_is_refused_before_the_run(tmp_path):
    from typer.testing import CliRunner

    from gigawatt.cli import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = [
            "run",
            str(EXAMPLES / "balanced.yaml"),
            "--out",
            str(tmp_path / "o"),
            "--metrics-port",
            str(port),
        ]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert not (tmp_path / "o").exists()
