"""`gigawatt plan training` and `gigawatt validate training`."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gigawatt import catalog
from gigawatt.arch.spec import load_model
from gigawatt.hardware.fabric import nic as nic_spec
from gigawatt.scenario import Network, Overlap

plan_app = typer.Typer(help="Plan jobs on a cluster.", no_args_is_help=True)
console = Console(width=170)  # the configuration column is wide; do not fold it when piped


@plan_app.callback()
def _group() -> None:
    """Planning commands (a callback keeps `training` a named sub-command)."""


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@plan_app.command("training")
def plan_training(
    model: Annotated[str, typer.Option(help="catalog model (e.g. llama-3.1-405b)")],
    gpus: Annotated[int, typer.Option(help="GPUs for the job", min=1)],
    gpu: Annotated[str, typer.Option(help="catalog GPU (e.g. h100)")] = "H100-SXM",
    seq: Annotated[int, typer.Option(help="sequence length, tokens", min=1)] = 8192,
    global_batch: Annotated[int, typer.Option(help="sequences per optimizer step", min=1)] = 2048,
    gpus_per_node: Annotated[int, typer.Option(help="GPUs per node (NVLink domain)", min=1)] = 8,
    precision: Annotated[str, typer.Option(help="bf16 or fp8")] = "bf16",
    nic: Annotated[str, typer.Option(help="NIC from the network catalog")] = "infiniband-ndr-400",
    top: Annotated[int, typer.Option(help="configurations to print", min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every parallel configuration that fits in memory, ranked by predicted tokens/s."""
    from gigawatt.workload.training.configs import Job
    from gigawatt.workload.training.planner import plan

    if precision not in ("bf16", "fp8"):
        raise _fail(f"--precision must be bf16 or fp8, not {precision!r}")
    try:
        spec = catalog.gpu(gpu)
        job = Job(
            model=load_model(model),
            gpu=spec,
            precision=precision,
            sequence_length=seq,
            sequences=global_batch,
            gpus_per_node=gpus_per_node,
            network=Network(nic=nic),
            overlap=Overlap(),
        )
        nic_spec(nic)
    except catalog.CatalogError as exc:
        raise _fail(str(exc)) from None
    start = time.perf_counter()
    rows, evaluated, fitting = plan(job, gpus, top)
    seconds = time.perf_counter() - start
    result = {
        "model": job.model.name,
        "gpu": spec.name,
        "gpus": gpus,
        "sequence_length": seq,
        "global_batch_sequences": global_batch,
        "evaluated": evaluated,
        "fit_in_memory": fitting,
        "seconds": seconds,
        "top": rows,
    }
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    if not rows:
        raise _fail(
            f"none of {evaluated:,} configurations of {job.model.name} on {gpus:,} × {spec.name} fits "
            "in memory"
            if evaluated
            else f"no parallel configuration of {gpus:,} GPUs suits a global batch of {global_batch} "
            f"sequences of {seq} tokens (data parallelism must divide the batch)"
        )
    t = Table(
        title=f"{job.model.name} on {gpus:,} × {spec.name}, sequence {seq:,}, "
        f"batch {global_batch:,} sequences",
        header_style="bold",
    )
    columns = ("#", "configuration", "tok/s/GPU", "MFU", "step s", "MHz", "GB/GPU", "comm s", "bubble s")
    for col in columns:
        t.add_column(col, justify="left" if col == "configuration" else "right")
    for i, r in enumerate(rows, 1):
        times = r["time_s"]
        comm = sum(v for k, v in times.items() if k.startswith("exposed_"))
        t.add_row(
            str(i),
            r["config"],
            f"{r['tokens_per_s_per_gpu']:,.0f}",
            f"{r['mfu']:.1%}",
            f"{r['step_s']:.2f}",
            f"{r['clock_mhz']:.0f}",
            f"{r['memory_gb']['total']:.1f}",
            f"{comm:.2f}",
            f"{times['bubble_and_imbalance']:.2f}",
        )
    console.print(t)
    console.print(
        f"{evaluated:,} configurations evaluated, {fitting:,} fit in memory, in {seconds:.1f} s; "
        "tokens/s at the clock the GPU's power limit sustains",
        highlight=False,
    )


def validate_training(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Predict the throughput of published large training runs (catalog/training_runs.yaml)."""
    from gigawatt.workload.training.validate import TOLERANCE, checks, summary

    results = checks()
    stats = summary(results)
    failed = [c for c in results if abs(c.error) > c.tolerance]
    if as_json:
        payload: dict[str, Any] = {
            "runs": [
                {
                    "name": c.name,
                    "source": c.source,
                    "gpus": c.gpus,
                    "gpu": c.gpu,
                    "model": c.model,
                    "published": c.published,
                    "published_tokens_per_s_per_gpu": c.published_tokens_per_gpu,
                    "predicted_tokens_per_s_per_gpu": c.predicted_tokens_per_gpu,
                    "error": c.error,
                    "tolerance": c.tolerance,
                    "held_out": c.held_out,
                    "clock_mhz": c.clock_mhz,
                    "memory_gb": c.memory_gb,
                    "fits_in_memory": c.fits,
                    "assumed": c.assumed,
                }
                for c in results
            ],
            "summary": stats,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        out = Console(width=160)
        t = Table(title="Training throughput: predicted vs published (tokens/s per GPU)", header_style="bold")
        columns = ("run", "GPUs", "model", "published", "pub tok/s/GPU", "pred", "error", "fit", "MHz", "GB")
        for col in columns:
            t.add_column(col, justify="left" if col in ("run", "model", "published", "fit") else "right")
        for c in results:
            t.add_row(
                c.name,
                f"{c.gpus:,}",
                c.model,
                c.published,
                f"{c.published_tokens_per_gpu:,.1f}",
                f"{c.predicted_tokens_per_gpu:,.1f}",
                f"{c.error:+.1%}",
                "held out" if c.held_out else "fitted",
                f"{c.clock_mhz:.0f}",
                f"{c.memory_gb:.0f}" + ("" if c.fits else "!"),
            )
        out.print(t)
        out.print(
            f"{stats['runs']} runs: MdAPE {stats['mdape']:.1%}, held out MdAPE "
            f"{stats['held_out_mdape']:.1%}, max {stats['max_ape']:.1%}; "
            f"{stats['within_10_percent']} within 10 %. "
            f"GB marked ! exceed the memory model's usable HBM.",
            highlight=False,
        )
    if failed:
        Console(stderr=True).print(
            "held-out runs beyond their tolerance (default "
            f"{TOLERANCE:.0%}): " + ", ".join(f"{c.name} {c.error:+.1%}" for c in failed),
            highlight=False,
        )
        raise typer.Exit(1)
