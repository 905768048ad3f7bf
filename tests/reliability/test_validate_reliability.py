"""`gigawatt validate reliability`: the table, the held-out checks and the exit code."""

from __future__ import annotations

from typer.testing import CliRunner

import gigawatt.reliability.cli as reliability_cli
from gigawatt.cli import app
from gigawatt.validation.check import Check


def test_prints_every_group_and_passes_its_held_out_checks():
    result = CliRunner().invoke(app, ["validate", "reliability", "--trials", "60"])
    assert result.exit_code == 0, result.output
    for text in (
        "Llama 3 405B",
        "Kokolis",
        "Young 1974, Daly 2006",
        "Meta's expected ETTR",
        "Faulty GPU",
        "held out: 2/2 within tolerance",
        "model checks: 6/6",
    ):
        assert text in result.output


def test_a_held_out_check_outside_its_tolerance_fails_the_command(monkeypatch):
    bad = Check("g", "MTTF 8 GPUs", predicted=20.0, published=47.7, unit="d", role="held out", tolerance=0.25)
    shown = Check("g", "other population", predicted=1.0, published=10.0, unit="h", role="other")
    monkeypatch.setattr(reliability_cli, "all_checks", lambda trials, seed: [bad, shown])
    result = CliRunner().invoke(app, ["validate", "reliability"])
    assert result.exit_code == 1
    assert "failed: g: MTTF 8 GPUs error -58.1%" in result.output


def test_range_checks_pass_inside_and_report_the_distance_outside():
    inside = Check("g", "rate", predicted=3.8, published=(2.34, 6.5), unit="", role="held out")
    above = Check("g", "rate", predicted=7.8, published=(2.34, 6.5), unit="", role="held out")
    assert inside.passed and inside.error == 0.0
    assert not above.passed and above.error == 7.8 / 6.5 - 1
    assert Check("g", "x", 1.0, 2.0, "", "other").passed is None
