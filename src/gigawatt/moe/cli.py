"""`gigawatt moe …` commands."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gigawatt.moe.placement import POLICIES, describe_shape_problem, place

app = typer.Typer(help="Mixture-of-experts tools: expert placement.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Mixture-of-experts tools: expert placement."""  # keeps `place` a subcommand


@app.command("place")
def place_command(
    weights: Annotated[Path, typer.Option(help="JSON file: a list of per-layer lists of expert loads.")],
    replicas: Annotated[
        int, typer.Option(help="Physical expert slots in total (experts + redundant copies).")
    ],
    groups: Annotated[int, typer.Option(help="Expert groups (each group stays on one node).")],
    nodes: Annotated[int, typer.Option(help="Nodes.")],
    gpus: Annotated[int, typer.Option(help="GPUs in total.")],
    policy: Annotated[str, typer.Option(help="hierarchical, global or locality.")] = "hierarchical",
    locality: Annotated[
        float, typer.Option(help="locality policy: share of spare slots spent on per-node copies, 0..1.")
    ] = 1.0,
) -> None:
    """Place replicated experts on GPUs EPLB-style; prints JSON with phy2log, logcnt and max_over_mean."""
    loads = _read_loads(weights)
    if policy not in POLICIES:
        _fail(f"--policy {policy!r}: allowed values are {', '.join(POLICIES)}")
    if not 0.0 <= locality <= 1.0:
        _fail(f"--locality {locality}: must be within [0, 1]")
    problem = describe_shape_problem(len(loads[0]), replicas, groups, nodes, gpus)
    if problem:
        _fail(f"--replicas/--groups/--nodes/--gpus: {problem}")
    result = place(
        loads,
        n_slots=replicas,
        n_groups=groups,
        n_nodes=nodes,
        n_gpus=gpus,
        policy=policy,  # type: ignore[arg-type]  # checked against POLICIES above
        locality=locality,
    )
    typer.echo(
        json.dumps(
            {
                "phy2log": result.phy2log.tolist(),
                "logcnt": result.logcnt.tolist(),
                "max_over_mean": result.max_over_mean.tolist(),
            }
        )
    )


def _read_loads(path: Path) -> list[list[float]]:
    where = f"--weights {path}"
    if not path.is_file():
        _fail(f"{where}: no such file")
    try:
        data: Any = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        _fail(f"{where}: not valid JSON ({error})")
    shape = "a non-empty JSON list of per-layer lists of expert loads, e.g. [[90, 132], [20, 107]]"
    if not isinstance(data, list) or not data or not all(isinstance(row, list) and row for row in data):
        _fail(f"{where}: expected {shape}")
    widths = {len(row) for row in data}
    if len(widths) != 1:
        _fail(
            f"{where}: ragged lists: every layer must list the same number of experts, got {sorted(widths)}"
        )
    for layer, row in enumerate(data):
        for expert, load in enumerate(row):
            ok = isinstance(load, int | float) and not isinstance(load, bool) and math.isfinite(load)
            if not ok or load < 0:
                _fail(
                    f"{where}: loads must be non-negative numbers; layer {layer} expert {expert} is {load!r}"
                )
    return data


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
