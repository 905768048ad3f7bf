"""`gigawatt validate reliability`: predicted vs published failure, MTTF, ETTR and checkpoint figures.

`gigawatt.cli` registers `validate_reliability` under `gigawatt validate`. Exits 1 when a held-out or model
check falls outside its stated tolerance (see `validation.py` for what is fitted and what is held out).
"""

from __future__ import annotations

import json
import math
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gigawatt.reliability.validation import all_checks
from gigawatt.validation.check import Check, failed, fmt, published_text


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
            ci = f"{fmt(c.interval[0])}–{fmt(c.interval[1])}" if c.interval else ""
            error = "inside" if isinstance(c.published, tuple) and c.passed else f"{c.error:+.1%}"
            table.add_row(
                c.name, fmt(c.predicted), ci, published_text(c), c.unit, error, c.role, _verdict(c), c.note
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


def run_reliability(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file with a training workload")],
    trials: Annotated[int, typer.Option(help="Monte Carlo trials", min=2)] = 1000,
    horizon: Annotated[
        str | None, typer.Option(help="horizon (default: the scenario's duration), e.g. '54 d'")
    ] = None,
    temperatures: Annotated[
        str, typer.Option(help="loop: the dies' temperatures from a warm-up run; reference: the catalog's")
    ] = "loop",
    scan: Annotated[bool, typer.Option("--scan/--no-scan", help="ETTR of fixed checkpoint intervals")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Monte Carlo of the scenario's training job: interruptions by cause, job MTTF, ETTR, goodput, the best
    checkpoint interval, silent corruptions (and each variant's difference from the base)."""
    from gigawatt import catalog
    from gigawatt.reliability.study import StudyError, comparison_chain, study
    from gigawatt.scenario import ScenarioError, load, variant_scenarios
    from gigawatt.units import UnitError, parse_quantity
    from gigawatt.workload.serving.steady import WorkloadError

    err = Console(stderr=True)
    if temperatures not in ("loop", "reference"):
        err.print(f"[bold red]error:[/] --temperatures must be loop or reference, not {temperatures!r}")
        raise typer.Exit(2)
    try:
        horizon_s = parse_quantity(horizon, "time") if horizon is not None else None
        if horizon_s is not None and not 0 < horizon_s <= 10 * 365 * 86400:
            raise UnitError(f"--horizon {horizon!r}: give a duration above 0 and up to 10 years")
        sc = load(scenario)
        runs = [
            study(label, v, trials, horizon_s, temperatures == "loop", scan and label == "base")
            for label, v in variant_scenarios(sc)
        ]
    except (ScenarioError, StudyError, WorkloadError, UnitError, catalog.CatalogError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    sets = {v.label: v.set for v in sc.variants}
    chains = {r.label: comparison_chain(runs[0], r, sets[r.label]) for r in runs[1:]}
    if as_json:
        typer.echo(json.dumps([_json(r, chains.get(r.label)) for r in runs], indent=2))
        return
    console = Console(width=150)
    for r in runs:
        _print_study(console, r)
    for label, chain in chains.items():
        console.print(f"[bold]{label}: {chain}[/]", highlight=False)


def _estimate(e: Any, scale: float = 1.0, fmt: str = ".3g") -> str:
    return f"{e.mean * scale:{fmt}} [{e.low * scale:{fmt}}–{e.high * scale:{fmt}}]"


def _print_study(console: Console, r: Any) -> None:
    mc = r.result
    days = mc.horizon_s / 86400.0
    title = (
        f"{r.scenario.name} [{r.label}]: {mc.n_gpus:,} GPUs, {days:g} days, {mc.trials:,} trials"
        + (f", dies {r.die_temp_c:.1f} C mean" if math.isfinite(r.die_temp_c) else ", reference temperature")
    )
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("component", "category", "interruptions (95% CI)", "share"):
        table.add_column(column, justify="left" if column in ("component", "category") else "right")
    for label, category, est, share in mc.table():
        if est.mean > 0:
            table.add_row(label, category, _estimate(est, fmt=".1f"), f"{share:.1%}")
    console.print(table)
    lost = sorted(mc.gpu_hours_lost().items(), key=lambda kv: -kv[1].mean)[:4]
    rows = [
        ("interruptions", _estimate(mc.interruptions_total, fmt=".1f")),
        ("job MTTF (h)", _estimate(mc.job_mttf_s, 1 / 3600, ".2f")),
        (
            "checkpoint interval (min)",
            f"{mc.plan.interval_s / 60:.1f} ({mc.plan.blocking_s:.0f} s blocking each)",
        ),
        ("ETTR", _estimate(mc.ettr, fmt=".3f")),
        ("goodput (tokens/s)", f"{r.goodput_tokens_per_s:,.0f} of {r.tokens_per_s:,.0f} failure-free"),
        ("checkpoint overhead", _estimate(mc.checkpoint_overhead, fmt=".3%")),
        ("SDC onsets / escapes per run", f"{mc.sdc_onsets.mean():.2f} / {mc.sdc_escapes_per_run.mean:.2f}"),
        ("GPU-hours lost, top causes", ", ".join(f"{k} {v.mean:,.0f}" for k, v in lost)),
    ]
    if r.interval_scan:
        best = max(r.interval_scan, key=lambda row: row[1])
        rows.append(("interval that maximises ETTR", f"{best[0] / 60:.1f} min (ETTR {best[1]:.4f})"))
    for name, value in rows:
        console.print(f"  {name}: {value}", highlight=False)


def _json(r: Any, chain: str | None) -> dict[str, Any]:
    mc = r.result

    def est(e: Any) -> dict[str, float]:
        return {"mean": e.mean, "low": e.low, "high": e.high}

    return {
        "label": r.label,
        "gpus": mc.n_gpus,
        "horizon_s": mc.horizon_s,
        "trials": mc.trials,
        "die_temp_c_mean": r.die_temp_c if math.isfinite(r.die_temp_c) else None,
        "interruptions": est(mc.interruptions_total),
        "interruptions_by_cause": {k: est(v) for k, v in mc.interruptions_by_cause().items()},
        "job_mttf_s": est(mc.job_mttf_s),
        "ettr": est(mc.ettr),
        "goodput_tokens_per_s": r.goodput_tokens_per_s,
        "tokens_per_s_failure_free": r.tokens_per_s,
        "checkpoint_interval_s": mc.plan.interval_s,
        "checkpoint_overhead": est(mc.checkpoint_overhead),
        "gpu_hours_lost": {k: est(v) for k, v in mc.gpu_hours_lost().items()},
        "sdc_escapes_per_run": est(mc.sdc_escapes_per_run),
        "interval_scan": [{"interval_s": i, "ettr": e} for i, e in r.interval_scan],
        "chain": chain,
    }
