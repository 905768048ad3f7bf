"""`gigawatt ingest`, `gigawatt calibrate power` and `gigawatt compare`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gigawatt.console import fail, internal_error, out
from gigawatt.ingest.table import IngestError

calibrate_app = typer.Typer(help="Fit catalog parameters to measured telemetry.", no_args_is_help=True)


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    """Bad input: one line and exit 2; a bug: one line and exit 1; never a traceback."""
    try:
        yield
    except (typer.Exit, KeyboardInterrupt):
        raise
    except IngestError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        raise internal_error(exc, "the input files") from None


def ingest(
    files: Annotated[list[Path], typer.Argument(help="nvidia-smi CSV logs or dcgm-exporter scrapes")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for timeseries.parquet")],
    query: Annotated[
        str | None,
        typer.Option(
            help="the --query-gpu list of logs written with noheader (e.g. timestamp,index,power.draw)"
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(help="seconds between scrapes that carry no timestamps", min=0.001)
    ] = 30.0,
) -> None:
    """Read telemetry logs into the twin's timeseries schema (DCGM field names)."""
    from gigawatt.ingest.read import ingest as read_all
    from gigawatt.ingest.read import write

    with _guarded():
        got = read_all(files, query.split(",") if query else None, interval)
        try:
            target = write(got.table, out_dir)
        except OSError as exc:
            raise IngestError(f"{out_dir}: cannot write timeseries.parquet ({exc.strerror})") from None
    t = got.table
    span = t.column("time_s").to_numpy()
    metrics = [c for c in t.column_names if c.startswith("DCGM_")]
    out.print(
        f"{t.num_rows:,} rows over {span.max() - span.min():,.1f} s from {len(files)} file(s): "
        + ", ".join(sorted(set(got.formats.values()))),
        highlight=False,
        soft_wrap=True,
    )
    out.print("columns: " + ", ".join(metrics), highlight=False, soft_wrap=True)
    if got.ignored:
        out.print("skipped (no twin column): " + ", ".join(got.ignored), highlight=False, soft_wrap=True)
    out.print(f"telemetry: {target}", highlight=False, soft_wrap=True)


@calibrate_app.command("power")
def calibrate_power(
    telemetry: Annotated[Path, typer.Argument(help="telemetry Parquet (gigawatt ingest) or its folder")],
    gpu: Annotated[str, typer.Option(help="catalog GPU the telemetry comes from (e.g. H100-SXM)")],
    holdout: Annotated[float, typer.Option(help="share of the time span held out (the last part)")] = 0.25,
) -> None:
    """Fit idle power, P_max, memory share and the V-f knee to telemetry; print them beside the catalog's."""
    from gigawatt import catalog
    from gigawatt.ingest.calibrate import PARAMETERS, fit_power, yaml_snippet
    from gigawatt.ingest.read import read_telemetry

    with _guarded():
        try:
            spec = catalog.gpu(gpu)
        except catalog.CatalogError as exc:
            raise IngestError(f"--gpu: {exc}") from None
        fit = fit_power(read_telemetry(telemetry), spec, holdout)
    t = Table(title=f"{spec.name} power model fitted to {telemetry.name}", header_style="bold")
    for col in ("parameter", "catalog", "fitted", ""):
        t.add_column(col, justify="left" if col in ("parameter", "") else "right")
    for field, label, unit, factor, _ in PARAMETERS:
        cat, new = getattr(fit.catalog, field) * factor, getattr(fit.gpu, field) * factor
        fmt = "{:.3f}" if not unit else "{:,.1f} " + unit
        t.add_row(
            label,
            fmt.format(cat),
            fmt.format(new) if field in fit.fitted else "—",
            "" if field in fit.fitted else "kept",
        )
    out.print(t)
    out.print(
        f"rows: {fit.rows_fit:,} fitted, {fit.rows_held:,} held out "
        f"(the last {holdout:.0%} of the time span); "
        f"MdAPE fitted {fit.mdape_fit:.1%}, held out {fit.mdape_held:.1%} "
        f"(catalog parameters on the held-out rows: {fit.mdape_held_catalog:.1%})",
        highlight=False,
        soft_wrap=True,
    )
    for note in fit.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
    out.print("catalog (gpus.yaml):", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stdout.write(yaml_snippet(fit, telemetry.name))  # unwrapped, to paste


def compare(
    run_dir: Annotated[Path, typer.Argument(help="a run's results folder (or its timeseries.parquet)")],
    telemetry: Annotated[Path, typer.Argument(help="telemetry Parquet (gigawatt ingest) or its folder")],
    html: Annotated[Path, typer.Option("--html", help="overlay page to write")] = Path("compare.html"),
    offset: Annotated[float, typer.Option(help="seconds added to the telemetry's time axis")] = 0.0,
) -> None:
    """Overlay a run on measured telemetry: bias, MdAPE and RMSE of power, temperature and SM clock."""
    from gigawatt.ingest.compare import compare as compare_tables
    from gigawatt.ingest.compare import overlay_html
    from gigawatt.ingest.read import read_telemetry

    with _guarded():
        errors, series = compare_tables(read_telemetry(run_dir), read_telemetry(telemetry), offset)
        page = overlay_html(errors, series, f"{run_dir.name} (twin) vs {telemetry.name} (measured)")
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise IngestError(f"{html}: cannot write the overlay ({exc.strerror})") from None
    t = Table(title=f"{run_dir.name} vs {telemetry.name}", header_style="bold")
    for col in ("metric", "points", "bias (twin − measured)", "MdAPE", "RMSE"):
        t.add_column(col, justify="left" if col == "metric" else "right")
    for e in errors:
        t.add_row(
            e.label, f"{e.points:,}", f"{e.bias:+.3g} {e.unit}", f"{e.mdape:.1%}", f"{e.rmse:.3g} {e.unit}"
        )
    out.print(t)
    out.print(f"overlay: {html}", highlight=False, soft_wrap=True)
