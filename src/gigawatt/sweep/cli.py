"""`gigawatt sweep`: run every point of a sweep file, resumably, and write its dataset and report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gigawatt.console import err, fail, internal_error, out
from gigawatt.limits import DEFAULT_MAX_MEMORY, DEFAULT_MAX_TIME


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="sweep YAML file")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="sweep folder (default results/<sweep name>/); a rerun resumes"),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="an existing Ray cluster (e.g. ray://head:10001 or auto)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="points run at once, locally (default: all cores)"),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="ray, local (a process pool) or auto (Ray where installed)")
    ] = "auto",
    max_memory: Annotated[
        str, typer.Option(help="refuse points estimated to need more memory than this (e.g. 64 GB)")
    ] = f"{DEFAULT_MAX_MEMORY / 1e9:g} GB",
    max_time: Annotated[
        str, typer.Option(help="refuse points estimated to take longer than this to simulate (e.g. 8 h)")
    ] = f"{DEFAULT_MAX_TIME / 3600:g} h",
) -> None:
    """Run a design-space sweep: every point a full run; a Parquet row per point and a report."""
    try:
        _sweep(sweep_file, out_dir, address, workers, engine, max_memory, max_time)
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise internal_error(exc, "the sweep file") from None


def _sweep(
    sweep_file: Path,
    out_dir: Path | None,
    address: str | None,
    workers: int | None,
    engine: str,
    max_memory: str,
    max_time: str,
) -> None:
    from gigawatt.results_folder import ResultsError
    from gigawatt.sweep.report import write_sweep_report
    from gigawatt.sweep.runner import ENGINES, EngineError, run_sweep
    from gigawatt.sweep.spec import SweepError, read_sweep
    from gigawatt.units import UnitError, parse_quantity

    if engine not in ENGINES:
        raise fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    try:
        memory, limit_s = parse_quantity(max_memory, "bytes"), parse_quantity(max_time, "time")
    except UnitError as exc:
        raise fail(f"--max-memory / --max-time: {exc}") from None
    try:
        spec = read_sweep(sweep_file)
    except SweepError as exc:
        raise fail(str(exc)) from None
    how = f"combine {spec.combine}" + (f", seed {spec.seed}" if spec.combine in ("random", "lhs") else "")
    err.print(
        f"sweep {spec.name}: {len(spec.points)} points ({how}) over {spec.scenario_path}", highlight=False
    )
    start = time.perf_counter()

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        what = row["status"] if row["status"] != "ok" else _short(row)
        err.print(f"  [{done}/{total}] {row['point']} {what}", highlight=False, soft_wrap=True)

    try:
        outcome = run_sweep(
            spec,
            out_dir or Path("results") / spec.name,
            engine=engine,
            workers=workers,
            address=address,
            max_memory_bytes=memory,
            max_time_s=limit_s,
            inputs=list(spec.inputs),
            on_point=progress,
        )
    except (ResultsError, EngineError) as exc:
        raise fail(str(exc)) from None
    elapsed = time.perf_counter() - start
    unseen = [
        r["point"]
        for r in outcome.finished
        if not (outcome.folder / "points" / f"{r['point']}.parquet").exists()
    ]
    if unseen:
        raise fail(
            f"{len(unseen)} point(s) finished but their rows are not in {outcome.folder}/points/: "
            "the workers wrote where this machine cannot see; with --address, --out must be on a file "
            "system the cluster shares"
        )
    report = write_sweep_report(outcome.folder, spec)
    ran = len(outcome.finished)
    failed = sum(r["status"] != "ok" for r in outcome.finished)
    rate = f", {ran / elapsed * 60:.1f} points/min" if ran else ""
    out.print(
        f"sweep {spec.name}: {ran} run ({failed} failed), {outcome.skipped} already done, "
        f"{len(outcome.crashed)} crashed; engine {outcome.engine}, "
        f"{f'the cluster at {address}' if address else f'{outcome.workers} workers'}, "
        f"{elapsed:.0f} s{rate}",
        highlight=False,
    )
    if spec.combine in ("random", "lhs"):
        out.print(f"sampling seed: {spec.seed}", highlight=False)
    out.print(f"dataset: {outcome.folder}/points/*.parquet", highlight=False)
    out.print(f"report: {report}", highlight=False)
    for point, problem in outcome.crashed[:10]:
        err.print(f"[bold red]point {point} crashed:[/] {problem}", highlight=False, soft_wrap=True)
    if outcome.crashed:
        err.print("run the sweep again to retry them (finished points are kept)", highlight=False)
        raise typer.Exit(1)


def _short(row: dict[str, Any]) -> str:
    shown = [
        f"{row['throughput_tokens_per_s']:,.0f} tok/s"
        if row.get("throughput_tokens_per_s") is not None
        else ""
    ]
    if row.get("facility_mw_peak") is not None:
        shown.append(f"{row['facility_mw_peak'] * 1e3:,.1f} kW peak")
    if row.get("ttft_p99_s") is not None:
        shown.append(f"p99 TTFT {row['ttft_p99_s'] * 1e3:,.0f} ms")
    return ", ".join(s for s in shown if s)
