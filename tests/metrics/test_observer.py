"""The engine's observer hook (live metrics) and `--metrics-port` without prometheus-client."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.engine import Engine
from gigawatt.telemetry import Snapshot
from helpers import EXAMPLES, scenario


def test_observer_sees_every_recorded_row_and_changes_nothing():
    sc = scenario("balanced", duration="65 s", **{"recording.interval": "10 s"})
    seen: list[Snapshot] = []
    watched = Engine(sc).run(observe=seen.append)
    plain = Engine(sc).run()
    assert [s.time_s for s in seen] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 65.0]
    ts = watched.timeseries.to_pydict()
    times = np.asarray(ts["time_s"])
    for snap in seen:
        at = times == snap.time_s
        for key, values in snap.gpus.items():
            np.testing.assert_array_equal(values, np.asarray(ts[key])[at])
    assert [dict(s.facility) for s in seen] == watched.facility.to_pylist()
    assert watched.timeseries.equals(plain.timeseries)  # observing does not perturb the run
    with pytest.raises(ValueError):
        seen[0].gpus["DCGM_FI_DEV_POWER_USAGE"][0] = 0.0  # read-only: the results share these rows
    with pytest.raises(TypeError):
        seen[0].facility["pue"] = 0.0  # type: ignore[index]


def test_metrics_port_without_prometheus_client_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails as if not installed
    for name in ("gigawatt.metrics.server", "gigawatt.metrics.mapping", "prometheus_client.core"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "prometheus_client.core", None)
    args = ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(tmp_path / "o"), "--metrics-port", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "pip install 'gigawatt[metrics]'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_metrics_options_need_a_port(tmp_path):
    args = ["run", str(EXAMPLES / "balanced.yaml"), "--out", str(tmp_path / "o"), "--metrics-speed", "10"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "need --metrics-port" in result.output
