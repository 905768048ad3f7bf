"""`gigawatt validate physics`: the table of every published check; exit 1 when a held-out or model check
falls outside its tolerance."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gigawatt.validation.check import Check, failed, fmt, published_text
from gigawatt.validation.physics import collect


def _error(c: Check) -> str:
    if isinstance(c.published, tuple) and c.passed:
        return "inside"
    return f"{c.error:+.1%}"


def _verdict(c: Check) -> str:
    if c.passed is None or c.role not in ("held out", "model"):
        return ""
    bound = "range" if isinstance(c.published, tuple) else f"±{c.tolerance:.0%}"
    return f"{'pass' if c.passed else 'FAIL'} ({bound})"


def _as_dict(c: Check) -> dict[str, object]:
    return {
        "group": c.group,
        "check": c.name.strip(),
        "predicted": c.predicted,
        "published": list(c.published) if isinstance(c.published, tuple) else c.published,
        "unit": c.unit,
        "error": c.error,
        "role": c.role,
        "tolerance": c.tolerance,
        "passed": c.passed,
        "source": c.source,
        "note": c.note,
    }


def validate_physics(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows instead of the table")] = False,
) -> None:
    """Every published check: quantity, source, predicted, published, error, fitted or held out."""
    checks = collect()
    bad = failed(checks)
    if as_json:
        typer.echo(json.dumps([_as_dict(c) for c in checks], indent=2))
        raise typer.Exit(1 if bad else 0)
    console = Console(width=180)
    table = Table(header_style="bold")
    for column, width in (("check", 44), ("predicted", 10), ("published", 13), ("unit", 12), ("error", 8),
                          ("role", 8), ("verdict", 12), ("source", 60)):
        right = column in ("predicted", "published", "error")
        table.add_column(column, justify="right" if right else "left", max_width=width, overflow="fold")
    group = None
    for c in checks:
        if c.group != group:
            if group is not None:
                table.add_section()
            table.add_row(f"[bold]{c.group}[/]")
            group = c.group
        table.add_row("  " + c.name.strip(), fmt(c.predicted), published_text(c), c.unit, _error(c), c.role,
                      _verdict(c), c.source or c.note)
    console.print(table)
    held = [c for c in checks if c.role == "held out"]
    models = [c for c in checks if c.role == "model"]
    held_err = sorted(abs(c.error) for c in held)
    median = held_err[len(held_err) // 2] if held_err else float("nan")
    console.print(
        f"{len(checks)} checks; held out: {sum(bool(c.passed) for c in held)}/{len(held)} within tolerance, "
        f"median |error| {median:.1%}; fitted: {sum(c.role == 'fitted' for c in checks)}; "
        f"model: {sum(bool(c.passed) for c in models)}/{len(models)}"
    )
    for c in bad:
        console.print(f"[bold red]failed:[/] {c.group}: {c.name.strip()} error {c.error:+.1%}")
    if bad:
        raise typer.Exit(1)
