"""`gigawatt validate operators DIR`: predict every measured operator and all-reduce, print the errors.

The main CLI mounts `app` as `gigawatt validate`. Bad input exits 2 with one line naming the path
and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from gigawatt.calibration.fit import mdape
from gigawatt.calibration.predict import predict_all_reduce, predict_compute, resolve_gpu
from gigawatt.calibration.vidur import DataError, find_files, read_all_reduce, read_compute
from gigawatt.catalog import _load
from gigawatt.hardware.roofline import efficiency

app = typer.Typer(help="Check the twin's models against published measurements.", no_args_is_help=True)

LINEAR_TARGET = 8.0  # % MdAPE over all linear operators
ALL_REDUCE_TARGET = 15.0  # % MdAPE over all all-reduce rows


@app.callback()
def _group() -> None:
    """Validation checks (a callback keeps `operators` a named sub-command)."""


def _row(table: Table, who: str, op: str, pred: np.ndarray, measured: np.ndarray, fit: str) -> None:
    ape = np.abs(pred / measured - 1.0) * 100.0
    bias = float(np.median(pred / measured - 1.0) * 100.0)
    table.add_row(who, op, f"{len(measured):,}", f"{np.median(ape):.1f}%", f"{np.percentile(ape, 90):.1f}%",
                  f"{bias:+.1f}%", fit)


@app.command()
def operators(
    folder: Annotated[Path, typer.Argument(help="vidur-layout profiling folder (compute/, network/)")],
) -> None:
    """Predict every linear operator (from the model shape columns) and all-reduce, and print MdAPE."""
    try:
        mlp, all_reduce = find_files(folder)
        compute, network = read_compute(mlp), read_all_reduce(all_reduce)
        pred_c = predict_compute(compute)
        fit_of = {g: efficiency(resolve_gpu(str(g)).name).source for g in np.unique(compute.gpu)}
        pred_n = predict_all_reduce(network)
        fitted_n = np.isfinite(pred_n)
        if not len(compute) and not fitted_n.any():
            fitted = ", ".join(sorted(_load("calibration.yaml").get("collectives", {})))
            setups = ", ".join(np.unique(network.setup))
            raise DataError(f"{folder}: no row can be predicted: its network set-ups ({setups}) "
                            f"have no all-reduce fit (fitted: {fitted})")
    except DataError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None

    console = Console(width=120)
    table = Table(title=f"Predicted vs measured operator times, {folder}")
    for column in ("GPU / set-up", "operator", "rows", "MdAPE", "P90 APE", "median bias", "calibration"):
        numeric = column in ("rows", "MdAPE", "P90 APE", "median bias")
        table.add_column(column, justify="right" if numeric else "left")
    for g in np.unique(compute.gpu):
        fit = "fitted" if fit_of[g].startswith("fitted") else "default (no fit)"
        for op in np.unique(compute.op[compute.gpu == g]):
            mask = (compute.gpu == g) & (compute.op == op)
            _row(table, str(g), str(op), pred_c[mask], compute.measured[mask], fit)
    for setup in np.unique(network.setup):
        mask = (network.setup == setup) & fitted_n
        if mask.any():
            _row(table, str(setup), "all_reduce", pred_n[mask], network.measured[mask], "fitted")
    console.print(table)

    for setup in np.unique(network.setup[~fitted_n]):
        console.print(f"skipped network/{setup}: {int((network.setup[~fitted_n] == setup).sum())} rows "
                      "without a fitted all-reduce link for their workers/per-node layout")
    if len(compute):
        console.print(f"linear ops  MdAPE {mdape(pred_c, compute.measured):.2f}% over {len(compute):,} rows "
                      f"(target ≤ {LINEAR_TARGET:g}%)")
    if fitted_n.any():
        console.print(f"all-reduce  MdAPE {mdape(pred_n[fitted_n], network.measured[fitted_n]):.2f}% over "
                      f"{int(fitted_n.sum()):,} rows (target ≤ {ALL_REDUCE_TARGET:g}%)")
    pred = np.concatenate([pred_c, pred_n[fitted_n]])
    measured = np.concatenate([compute.measured, network.measured[fitted_n]])
    typer.echo(f"MdAPE {mdape(pred, measured):.2f}%")
