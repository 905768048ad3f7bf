"""`gigawatt validate physics`: the registry of published checks and its verdict."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.validation import physics
from gigawatt.validation.check import Check, failed


def test_every_provider_gives_checks_with_a_role_and_a_finite_prediction() -> None:
    checks = physics.collect()
    assert {"fitted", "held out"} <= {c.role for c in checks}
    for path in physics.PROVIDERS:
        rows = physics.provider(path)()
        assert rows, f"{path} gave no checks"
    for c in checks:
        assert c.predicted == c.predicted, c.name  # not NaN


def test_a_held_out_check_outside_its_tolerance_fails_and_a_fitted_one_does_not() -> None:
    off = Check("g", "held", 1.3, 1.0, "", "held out", tolerance=0.2)
    fitted = Check("g", "fit", 1.3, 1.0, "", "fitted", tolerance=0.2)
    inside = Check("g", "range", 45.0, (41.0, 50.0), "C", "held out")
    assert failed([off, fitted, inside]) == [off]
    above = Check("g", "r", 52.0, (41.0, 50.0), "C", "held out")
    assert inside.error == 0.0 and above.error == pytest.approx(0.04)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        Check("g", "x", 1.0, 1.0, "", "guess")


def test_cli_exits_one_when_a_held_out_check_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = [Check("g", "held", 2.0, 1.0, "W", "held out", tolerance=0.1, source="somewhere")]
    monkeypatch.setattr("gigawatt.validation.cli.collect", lambda: bad)
    result = CliRunner().invoke(app, ["validate", "physics"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "somewhere" in result.output


def test_cli_json_lists_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        Check("g", "fit", 1.1, 1.0, "W", "fitted", source="s"),
        Check("g", "h", 1.0, 1.0, "W", "held out", 0.1),
    ]
    monkeypatch.setattr("gigawatt.validation.cli.collect", lambda: rows)
    result = CliRunner().invoke(app, ["validate", "physics", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["role"] for d in data] == ["fitted", "held out"] and data[0]["error"] == pytest.approx(0.1)
