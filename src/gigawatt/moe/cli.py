"""`gigawatt moe …` commands. Bad input exits 2 with one `error:` line naming the file, line or option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from gigawatt.moe.placement import FLOAT32_MAX, POLICIES, describe_shape_problem, place
from gigawatt.safety import InputFileError, excerpt, read_regular_file

app = typer.Typer(help="Mixture-of-experts tools: expert placement.", no_args_is_help=True)

MAX_BYTES = 8 << 20  # 61 layers × 256 experts of token counts is about 100 kB
# assumption: a bound far above any deployment (DeepSeek-V3 decoding uses 320 slots per layer) that keeps
# the replicate/pack loops, one step per slot, to seconds.
MAX_SLOTS = 65_536
OPTION_NAMES = {
    "experts": "experts per layer in --weights",
    "replicas": "--replicas",
    "groups": "--groups",
    "nodes": "--nodes",
    "gpus": "--gpus",
}


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
    policy: Annotated[
        str,
        typer.Option(
            help="eplb (EPLB's rebalance_experts: hierarchical when groups divide over nodes, else global), "
            "hierarchical, global or locality."
        ),
    ] = "eplb",
    locality: Annotated[
        float, typer.Option(help="locality policy: share of spare slots spent on per-node copies, 0..1.")
    ] = 1.0,
) -> None:
    """Place replicated experts on GPUs as EPLB does; prints JSON with phy2log, log2phy, logcnt and
    max_over_mean per layer."""
    if policy not in POLICIES:
        _fail(f"--policy {excerpt(policy)}: allowed values are {', '.join(POLICIES)}")
    if not 0.0 <= locality <= 1.0:
        _fail(f"--locality {locality}: must be within [0, 1]")
    sizes = {"--replicas": replicas, "--groups": groups, "--nodes": nodes, "--gpus": gpus}
    for option, value in sizes.items():
        if value > MAX_SLOTS:
            _fail(f"{option} {excerpt(value)}: at most {MAX_SLOTS:,} allowed")
    loads = read_loads(weights)
    problem = describe_shape_problem(
        len(loads[0]), replicas, groups, nodes, gpus, policy, OPTION_NAMES  # type: ignore[arg-type]
    )
    if problem:
        _fail(problem)
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
                "log2phy": result.log2phy.tolist(),
                "logcnt": result.logcnt.tolist(),
                "max_over_mean": result.max_over_mean.tolist(),
            }
        )
    )


def read_loads(path: Path) -> list[list[float]]:
    """Per-layer expert loads from a JSON file; every problem exits 2 naming the file, line and field."""
    where = f"--weights {path}"
    try:
        raw = read_regular_file(path, MAX_BYTES, "weights file")
    except InputFileError as error:
        _fail(f"--weights {error}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        _fail(f"{where}, line {line}: not UTF-8 text (byte {error.start + 1:,} cannot be decoded)")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"{where}, line {error.lineno}: not valid JSON ({error.msg})")
    except RecursionError:
        _fail(f"{where}: nested too deeply; expected a list of per-layer lists of numbers")
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        _fail(f"{where}: not readable JSON ({excerpt(str(error), 80)})")
    shape = "a non-empty JSON list of per-layer lists of expert loads, e.g. [[90, 132], [20, 107]]"
    if not isinstance(data, list) or not data:
        _fail(f"{where}: expected {shape}")
    for layer, row in enumerate(data):
        if not isinstance(row, list) or not row:
            _fail(f"{where}, line {line_of(text, layer)}: layer {layer} is {excerpt(row)}; expected {shape}")
        if len(row) != len(data[0]):
            _fail(
                f"{where}, line {line_of(text, layer)}: layer {layer} lists {len(row)} experts, layer 0 "
                f"lists {len(data[0])}; every layer must list the same experts"
            )
    for layer, row in enumerate(data):
        for expert, load in enumerate(row):
            number = isinstance(load, int | float) and not isinstance(load, bool)
            if not number or not 0 <= load <= FLOAT32_MAX:  # NaN fails the comparison, inf the bound
                _fail(
                    f"{where}, line {line_of(text, layer, expert)}: layer {layer} expert {expert} is "
                    f"{excerpt(load)}; loads must be numbers from 0 to {FLOAT32_MAX:.3g} (float32, as EPLB)"
                )
    return data


def line_of(text: str, *index: int) -> int:
    """1-based line where the value at `index` (layer, or layer and expert) of a JSON list of lists starts.

    A scan for brackets and commas outside strings; only called to word an error, on text that parsed.
    """
    target, path = list(index), []  # path: index of the current element at each open level
    in_string = escaped = False
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == ",":
            path[-1] += 1
        elif char in "]}":
            path.pop()
        elif not char.isspace() and char != ":":
            if path == target:
                return line
            if char in "[{":
                path.append(0)
            in_string = char == '"'
    return line


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
