"""The `gigawatt` command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gigawatt import catalog
from gigawatt.console import err, fail, internal_error, out
from gigawatt.limits import DEFAULT_MAX_MEMORY, DEFAULT_MAX_TIME
from gigawatt.scenario import ScenarioError, json_schema, load
from gigawatt.units import UnitError, parse_quantity

app = typer.Typer(
    help="gigawatt: a digital twin of LLM infrastructure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


# Show a progress bar only once a run has taken this long.
PROGRESS_AFTER_S = 2.0


class LazyProgress:
    """A rich progress bar that appears only if the run outlasts PROGRESS_AFTER_S; when stderr is not a
    terminal (a log, a CI job), a plain line every PLAIN_PROGRESS_STEP of the run or PLAIN_PROGRESS_S."""

    PLAIN_PROGRESS_STEP = 0.1
    PLAIN_PROGRESS_S = 5.0

    def __init__(self, label: str):
        self.label = label
        self.start = time.perf_counter()
        self.bar: Progress | None = None
        self.task: Any = None
        self.plain = not err.is_terminal
        self.last_line = (0.0, self.start)  # (share done, wall time) at the last plain line

    def __call__(self, done: int, total: int) -> None:
        if self.plain:
            self._line(done, total)
            return
        if self.bar is None:
            if done % 64 or time.perf_counter() - self.start < PROGRESS_AFTER_S:
                return
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        if done % 16 == 0 or done == total:
            self.bar.update(self.task, completed=done)

    def _line(self, done: int, total: int) -> None:
        now = time.perf_counter()
        share = done / total if total else 1.0
        if now - self.start < PROGRESS_AFTER_S or done == total:
            return
        last_share, last_time = self.last_line
        if share - last_share < self.PLAIN_PROGRESS_STEP and now - last_time < self.PLAIN_PROGRESS_S:
            return
        self.last_line = (share, now)
        err.print(
            f"{self.label}: {share:.0%} ({done}/{total} ticks, {now - self.start:.0f} s)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_version(value: bool) -> None:
    if value:
        from gigawatt import __version__

        out.print(f"gigawatt {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    pass


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="results folder (default results/<name>/)")
    ] = None,
    max_memory: Annotated[
        str, typer.Option(help="refuse runs estimated to need more memory than this (e.g. 64 GB)")
    ] = f"{DEFAULT_MAX_MEMORY / 1e9:g} GB",
    max_time: Annotated[
        str, typer.Option(help="refuse runs estimated to take longer than this to simulate (e.g. 8 h)")
    ] = f"{DEFAULT_MAX_TIME / 3600:g} h",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="serve live Prometheus metrics at http://ADDR:PORT/metrics during the run"),
    ] = None,
    metrics_addr: Annotated[str, typer.Option(help="address the metrics endpoint listens on")] = "127.0.0.1",
    metrics_speed: Annotated[
        float | None,
        typer.Option(help="pace simulated time at this many times wall time (default: flat out)"),
    ] = None,
    metrics_hold: Annotated[
        float, typer.Option(help="seconds to keep serving the final values after the run")
    ] = 0.0,
    metrics_gpus: Annotated[
        int, typer.Option(help="per-GPU series up to this many GPUs; per-node aggregates beyond")
    ] = 1024,
    self_contained: Annotated[
        bool, typer.Option("--self-contained", help="inline plotly.js in every report.html (about 5 MB each)")
    ] = False,
) -> None:
    """Simulate a scenario (and its variants); print a summary and write the results folder."""
    try:
        metrics = _metrics_server(metrics_port, metrics_addr, metrics_speed, metrics_hold, metrics_gpus)
        try:
            _run(scenario, out_dir, max_memory, max_time, metrics, self_contained)
            if metrics is not None:
                metrics.hold(metrics_hold)
        finally:
            if metrics is not None:
                metrics.close()
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise internal_error(exc, "the scenario") from None


def _metrics_server(port: int | None, addr: str, speed: float | None, hold: float, gpus: int) -> Any:
    """The live metrics endpoint (gigawatt.metrics), or None without --metrics-port."""
    if port is None:
        if speed is not None or hold or gpus != 1024:
            raise fail("--metrics-speed, --metrics-hold and --metrics-gpus need --metrics-port")
        return None
    if not (0 <= port <= 65535 and hold >= 0 and gpus >= 0 and (speed is None or speed > 0)):
        raise fail(
            "--metrics-port must be 0-65535, --metrics-speed above 0, --metrics-hold and --metrics-gpus ≥ 0"
        )
    try:
        from gigawatt.metrics.server import MetricsServer
    except ImportError:
        raise fail("--metrics-port needs prometheus-client: pip install 'gigawatt\\[metrics]'") from None
    try:
        server = MetricsServer(port, addr, speed, gpus)
    except OSError as exc:
        raise fail(f"--metrics-port {port}: cannot listen on {addr}:{port}: {exc.strerror or exc}") from None
    err.print(f"metrics: http://{addr}:{server.port}/metrics", highlight=False)
    return server


def _run(
    scenario: Path,
    out_dir: Path | None,
    max_memory: str,
    max_time: str,
    metrics: Any = None,
    self_contained: bool = False,
) -> None:
    from gigawatt.api import simulate
    from gigawatt.limits import LimitError, Limits
    from gigawatt.results_folder import ResultsError

    try:
        limits = Limits(parse_quantity(max_memory, "bytes"), parse_quantity(max_time, "time"))
    except UnitError as exc:
        raise fail(f"--max-memory / --max-time: {exc}") from None
    try:
        sc = load(scenario)
        several = bool(sc.variants)

        def progress(label: str) -> LazyProgress:
            return LazyProgress(f"simulating {sc.name}" + (f" [{label}]" if several else ""))

        result = simulate(
            sc,
            progress,
            out=out_dir or Path("results") / sc.name,
            limits=limits,
            observer=metrics,
            self_contained=self_contained,
        )
    except (ScenarioError, ResultsError, LimitError) as exc:
        raise fail(str(exc)) from None
    base_summary = result.summary
    _print_summary(base_summary)
    out.print(f"[bold]{base_summary['chain']}[/]", highlight=False)
    if len(result.runs) > 1:
        _print_comparison(base_summary["variants"])
    out.print(f"results: {result.folder}/", highlight=False)


def _print_comparison(rows: list[dict[str, Any]]) -> None:
    from gigawatt.summary import COMPARED

    t = Table(title="variants side by side", header_style="bold")
    t.add_column("variant", overflow="fold")  # a narrow terminal folds a label, never truncates it
    shown = [(key, label) for key, label, _ in COMPARED if any(r[key] is not None for r in rows)]
    for _, label in shown:
        t.add_column(label, justify="right", overflow="fold")
    for r in rows:
        t.add_row(r["label"], *[_fmt(r[key]) for key, _ in shown])
    out.print(t)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _kw(values: tuple[float, ...], unit: str = "kW", digits: int = 1) -> str:
    """Powers (in kW) joined by " / ", in MW once they reach 10 MW so a campus reads as one."""
    if max(abs(v) for v in values) >= 1e4:
        return " / ".join(f"{v / 1e3:,.2f}" for v in values) + f" M{unit[1:]}"
    return " / ".join(f"{v:,.{digits}f}" for v in values) + f" {unit}"


def _print_summary(s: dict[str, Any]) -> None:
    t = Table(
        title=f"{s['scenario']}: {s['gpus']} × {s['gpu_model']}, {s['model']} TP{s['tensor_parallel']}, "
        f"{s['duration_s'] / 60:g} min",
        show_header=True,
        header_style="bold",
    )
    t.add_column("metric", overflow="fold")
    t.add_column("value", justify="right", overflow="fold")
    tf = s["throttle_fraction"]
    rows = [
        ("output tokens/s", f"{s['throughput_tokens_per_s']:,.0f} (demand {s['demand_tokens_per_s']:,.0f})"),
        ("energy per output token", f"{s['energy_j_per_token']:.2f} J" if s["energy_j_per_token"] else "—"),
        ("GPU power mean / max", f"{s['gpu_power_w']['mean']:.0f} / {s['gpu_power_w']['max']:.0f} W"),
        (
            "facility power mean / max",
            _kw((s["facility_power_kw"]["mean"], s["facility_power_kw"]["max"])),
        ),
        (
            "PUE",
            f"{s['pue']:.3f}"
            + (f" ({s['site']['pue']['min']:.2f}–{s['site']['pue']['max']:.2f})" if "site" in s else ""),
        ),
        ("max GPU temperature", f"{s['max_gpu_temp_c']:.1f} C"),
        (
            "GPU-time throttled: power / thermal / brake",
            f"{tf['power']:.1%} / {tf['thermal']:.1%} / {tf['power_brake']:.1%}",
        ),
        ("errors (shutdowns, resets)", str(s["errors"])),
    ]
    if isinstance(s.get("ttft_s"), dict) and "p50" in s["ttft_s"]:
        ttft, tpot = s["ttft_s"], s["tpot_s"]
        rows += [
            (
                "TTFT p50 / p90 / p99",
                " / ".join(f"{ttft[q] * 1e3:,.0f}" for q in ("p50", "p90", "p99")) + " ms",
            ),
            (
                "TPOT p50 / p90 / p99",
                " / ".join(f"{tpot[q] * 1e3:,.1f}" for q in ("p50", "p90", "p99")) + " ms",
            ),
            ("goodput (within SLO)", f"{s['goodput_requests_per_s']:.2f} requests/s"),
        ]
    elif isinstance(s.get("tpot_s"), dict):
        rows.append(("TPOT mean (fluid)", f"{s['tpot_s']['mean'] * 1e3:.1f} ms"))
    if "training" in s:
        tr = s["training"]
        step = tr["step_time_s"]
        rows += [
            (
                "step time mean / p99 (unthrottled)",
                f"{_fmt(step['mean'])} / {_fmt(step['p99'])} ({step['unthrottled']:.2f}) s",
            ),
            ("model TFLOP/s per GPU (MFU)", f"{tr['tflops_per_gpu']:.0f} ({tr['mfu']:.1%})"),
            ("straggler cost (slowest GPU)", f"{tr['straggler']['cost_fraction']:.1%}"),
        ]
    swing = s["facility_power_swing"]
    rows.append(
        (
            f"facility swing / steepest ramp ({swing['resolution_s']:g} s ticks)",
            f"{_kw((swing['amplitude_mw'] * 1e3,), digits=0)} / "
            f"{_kw((swing['ramp_max_mw_per_s'] * 1e3,), 'kW/s', digits=0)}",
        )
    )
    for name, value in rows:
        t.add_row(name, value)
    out.print(t)


@app.command()
def model(
    name: Annotated[str, typer.Argument(help="catalog model name, any case (e.g. deepseek-v3)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    context: Annotated[int, typer.Option(help="context length (tokens) for FLOPs per token", min=1)] = 4096,
    gpu: Annotated[str | None, typer.Option(help="show serving capacity on this GPU (e.g. h100)")] = None,
    tp: Annotated[int, typer.Option(help="GPUs per replica (tensor parallel) for --gpu", min=1)] = 8,
    precision: Annotated[str, typer.Option(help="bf16 or fp8, for --gpu")] = "bf16",
) -> None:
    """Parameters, KV-cache bytes and FLOPs per token of a catalog model (and its serving capacity)."""
    from gigawatt.arch.describe import describe
    from gigawatt.arch.spec import load_model
    from gigawatt.workload.serving.memory import serving_capacity

    if precision not in ("bf16", "fp8"):
        raise fail(f"--precision must be bf16 or fp8, not {precision!r}")
    try:
        spec = load_model(name)
        info = describe(spec, context)
        if gpu is not None:
            info["serving_capacity"] = serving_capacity(spec, catalog.gpu(gpu), precision, tp, context)
    except catalog.CatalogError as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    t = Table(
        title=f"{info['name']} ({info['attention'].upper()} attention, {info['ffn']} FFN)",
        header_style="bold",
    )
    t.add_column("quantity")
    t.add_column("value", justify="right")
    pub = info["published"]
    t.add_row(
        "parameters, total",
        f"{info['params_total'] / 1e9:,.2f} B"
        + (f"  (published {pub['total'] / 1e9:g} B)" if pub["total"] else ""),
    )
    t.add_row(
        "parameters, active per token",
        f"{info['params_active'] / 1e9:,.2f} B"
        + (f"  (published {pub['active'] / 1e9:g} B)" if pub["active"] else ""),
    )
    t.add_row(
        "  without the input-embedding lookup",
        f"{info['params_active_without_input_embedding'] / 1e9:,.2f} B",
    )
    for p in ("bf16", "fp8"):
        t.add_row(
            f"KV cache per token, {p}",
            f"{info['kv_bytes_per_token'][p] / 1024:,.1f} KiB"
            f"  (MHA-equivalent {info['kv_bytes_per_token_mha_equivalent'][p] / 1024:,.1f} KiB)",
        )
    t.add_row("KV reduction vs MHA", f"{info['kv_reduction_vs_mha']:.1f}×")
    f = info["flops_per_token"]
    t.add_row(f"FLOPs per token, prefill of {context}", f"{f['prefill'] / 1e9:,.1f} GFLOP")
    t.add_row(f"FLOPs per token, decode at {context}", f"{f['decode'] / 1e9:,.1f} GFLOP")
    if "serving_capacity" in info:
        cap = info["serving_capacity"]
        where = f"{cap['tensor_parallel']} × {cap['gpu']}, {precision}"
        if cap["free_hbm_bytes_per_gpu"] <= 0:
            t.add_row(f"serving on {where}", "weights do not fit")
        else:
            t.add_row(
                f"KV tokens in HBM ({where})",
                f"{cap['kv_tokens']:,.0f}  (MHA-sized cache {cap['kv_tokens_mha_equivalent']:,.0f})",
            )
            t.add_row(
                f"max batch at {context} tokens",
                f"{cap['max_batch']:,.0f}  (MHA-sized cache {cap['max_batch_mha_equivalent']:,.0f})",
            )
    if "moe" in info:
        mo = info["moe"]
        t.add_row(
            "experts", f"{mo['shared_experts']} shared + {mo['routed_experts']} routed, top-{mo['top_k']}"
        )
    out.print(t)
    out.print(f"shapes: {info['source']}", highlight=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


def _mount_subcommands() -> None:
    from gigawatt.calibration.cli import app as validate_app
    from gigawatt.ingest.cli import calibrate_app, compare, ingest
    from gigawatt.moe.cli import app as moe_app
    from gigawatt.reliability.cli import run_reliability, validate_reliability
    from gigawatt.sweep.cli import sweep
    from gigawatt.validation.cli import validate_physics
    from gigawatt.workload.training.cli import plan_app, validate_training

    validate_app.command("training")(validate_training)
    validate_app.command("reliability")(validate_reliability)
    validate_app.command("physics")(validate_physics)
    app.add_typer(moe_app, name="moe")
    app.add_typer(validate_app, name="validate")
    app.add_typer(plan_app, name="plan")
    app.command("reliability")(run_reliability)
    app.command("sweep")(sweep)
    app.command("ingest")(ingest)
    app.command("compare")(compare)
    app.add_typer(calibrate_app, name="calibrate")


_mount_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
