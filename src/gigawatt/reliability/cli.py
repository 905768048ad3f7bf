"""`gigawatt validate reliability`: predicted vs published failure, MTTF, ETTR and checkpoint figures.

`gigawatt.cli` registers `validate_reliability` under `gigawatt validate`. Exits 1 when a held-out or model
check falls outside its stated tolerance (see `validation.py` for what is fitted and what is held out).
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gigawatt.reliability.validation import Check, all_checks, failed


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _published(c: Check) -> str:
    if isinstance(c.published, tuple):
        return f"{_fmt(c.published[0])}–{_fmt(c.published[1])}"
    return _fmt(c.published)


def _verdict(c: Check) -> str:
    if c.passed is None:
        return ""
    bound = "range" if isinstance(c.published, tuple) else f"±{c.tolerance:.1%}"
    return f"{'pass' if c.passed else 'FAIL'} ({bound})"


def validate_reliability(
    trials: Annotated[int, typer.Option(help="Monte Carlo trials per check", min=2)] = 400,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Llama 3 interruptions by cause, Meta's job MTTF vs size and expected ETTR, Young/Daly intervals."""
    checks = all_checks(trials, seed)
    console = Console(width=150)
    for group, rows in groupby(checks, key=lambda c: c.group):
        table = Table(title=group, title_justify="left", header_style="bold")
        for column in (
            "check",
            "predicted",
            "95% CI",
            "published",
            "unit",
            "error",
            "role",
            "verdict",
            "note",
        ):
            table.add_column(
                column, justify="right" if column in ("predicted", "published", "error") else "left"
            )
        for c in rows:
            ci = f"{_fmt(c.interval[0])}–{_fmt(c.interval[1])}" if c.interval else ""
            error = "inside" if isinstance(c.published, tuple) and c.passed else f"{c.error:+.1%}"
            table.add_row(
                c.name, _fmt(c.predicted), ci, _published(c), c.unit, error, c.role, _verdict(c), c.note
            )
        console.print(table)
    bad = failed(checks)
    held_out = [c for c in checks if c.role == "held out"]
    console.print(
        f"held out: {sum(bool(c.passed) for c in held_out)}/{len(held_out)} within tolerance; "
        f"model checks: {sum(bool(c.passed) for c in checks if c.role == 'model')}/"
        f"{sum(c.role == 'model' for c in checks)}"
    )
    if bad:
        for c in bad:
            console.print(f"[bold red]failed:[/] {c.group}: {c.name.strip()} error {c.error:+.1%}")
        raise typer.Exit(1)
