"""The Python API: what `gigawatt run` does, as functions.

    from gigawatt.api import load_scenario, simulate

    sc = load_scenario("examples/balanced.yaml")          # or a dict, as the YAML would read
    result = simulate(sc)
    result.summary["throughput_tokens_per_s"], result.summary["chain"]
    result.timeseries, result.facility, result.events       # pyarrow Tables
    result.write("results/balanced")                        # the results folder, atomically

Errors are those of the command: ScenarioError (the scenario, named by file or "<dict>", field and what is
allowed), LimitError (a run estimated beyond its memory or time limit), ResultsError (a results folder
that may not be written).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gigawatt.scenario import Scenario, ScenarioError, error_at, from_dict, load, variant_scenarios

if TYPE_CHECKING:
    import pyarrow as pa

    from gigawatt.engine import RunResult
    from gigawatt.limits import Limits
    from gigawatt.report.html import Section

__all__ = ["Result", "Run", "ScenarioError", "input_files", "load_scenario", "simulate"]

# Progress: called with each run's label ("base" or a variant's), it returns the callback the run calls
# with (ticks done, ticks in all); a callback with a close() method is closed when its run ends.
Progress = Callable[[str], Callable[[int, int], None]]


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """A scenario from a YAML file, or from a mapping as the YAML would read (quantities with units); a
    trace or weather path in a mapping is relative to the working folder."""
    if isinstance(source, str | os.PathLike):
        return load(source)
    return from_dict(source)  # refuses anything but a mapping, as ScenarioError


@dataclass(frozen=True)
class Run:
    """One simulated scenario: the scenario itself ("base") or one of its variants."""

    label: str
    result: RunResult
    summary: dict[str, Any]


@dataclass
class Result:
    """A scenario's runs, base first; `summary` and the tables are the base's (`runs` has the variants)."""

    scenario: Scenario
    runs: list[Run]
    sections: list[Section] = field(default_factory=list)
    folder: Path | None = None  # where `write` (or simulate's `out`) put the results folder

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json as a dict; with variants, their side-by-side rows under "variants"."""
        return self.runs[0].summary

    @property
    def timeseries(self) -> pa.Table:
        return self.runs[0].result.timeseries

    @property
    def facility(self) -> pa.Table:
        return self.runs[0].result.facility

    @property
    def events(self) -> pa.Table:
        return self.runs[0].result.events.table()

    def tables(self) -> dict[str, pa.Table]:
        """The workload's own tables (e.g. "requests" for request-level serving)."""
        return self.runs[0].result.workload.tables()

    def write(
        self,
        out_dir: str | Path,
        inputs: list[Path] | None = None,
        self_contained: bool = False,
        shared_plotly: str | None = None,
    ) -> Path:
        """Write the results folder (as `gigawatt run --out`), atomically; refuses a folder gigawatt did
        not write. `inputs`: files that must not end up inside it (default: the scenario's own)."""
        from gigawatt.limits import estimate
        from gigawatt.results_folder import Staging, check_target, run_identity

        sc = self.scenario
        target = check_target(Path(out_dir), input_files(sc) if inputs is None else inputs)
        size = sum(estimate(r.result.scenario).results_bytes for r in self.runs)
        staging = Staging(target, run_identity(sc.name, sc.seed, sc.raw), int(size))
        self.folder = _write(staging, self, self_contained, shared_plotly)
        return self.folder


def simulate(
    scenario: Scenario,
    progress: Progress | None = None,
    *,
    out: str | Path | None = None,
    limits: Limits | None = None,
    inputs: list[Path] | None = None,
    observer: Any = None,
    self_contained: bool = False,
    shared_plotly: str | None = None,
) -> Result:
    """Simulate a scenario and its variants, after checking the run fits `limits` (default: those of
    `gigawatt run`). With `out`, the results folder is prepared before simulating (so an unwritable or
    refused folder fails at once) and written when the runs end. `observer` (e.g. the live metrics server)
    is told each run's scenario with `observer.begin(scenario, label)` and called with every recorded
    snapshot; `self_contained` inlines plotly.js in each report; `shared_plotly` (a path relative to the
    results folder) points the reports at a plotly.js the caller keeps instead of writing one."""
    from gigawatt.engine import Engine
    from gigawatt.limits import Limits
    from gigawatt.limits import check as check_limits
    from gigawatt.report.compare import comparison_section
    from gigawatt.results_folder import Staging, check_target, run_identity
    from gigawatt.summary import comparison, summarize

    sc = scenario
    scenarios = variant_scenarios(sc)
    estimate = check_limits(scenarios, limits or Limits())
    target = None
    if out is not None:
        target = check_target(Path(out), input_files(sc, scenarios) if inputs is None else inputs)
    engines = []
    for label, v in scenarios:
        with located(sc, label):
            engines.append((label, Engine(v)))
    staging = None
    if target is not None:
        staging = Staging(target, run_identity(sc.name, sc.seed, sc.raw), int(estimate.results_bytes))
    try:
        runs = []
        for label, engine in engines:
            callback = progress(label) if progress is not None else None
            if observer is not None:
                observer.begin(engine.sc, label)
            try:
                with located(sc, label):  # a few options show their problem only in use (a router's)
                    result = engine.run(callback, observer)
            finally:
                close = getattr(callback, "close", None)
                if close is not None:
                    close()
            runs.append(Run(label, result, summarize(result)))
        sections = []
        if len(runs) > 1:
            rows = comparison([(r.label, r.summary) for r in runs], {v.label: v.set for v in sc.variants})
            runs[0].summary["variants"] = rows
            sections.append(comparison_section(rows))
        res = Result(sc, runs, sections)
        if staging is not None:
            res.folder = _write(staging, res, self_contained, shared_plotly)
        return res
    finally:
        if staging is not None:
            staging.discard()  # a no-op once committed


def _write(
    staging: Any, res: Result, self_contained: bool = False, shared_plotly: str | None = None
) -> Path:
    from gigawatt.results import write_results
    from gigawatt.results_folder import ResultsError

    try:
        runs = [(r.label, r.result, r.summary) for r in res.runs]
        return write_results(staging, runs, res.sections, self_contained, shared_plotly)
    except (ResultsError, OSError) as exc:
        raise ResultsError(f"cannot write the results: {exc}") from None


@contextlib.contextmanager
def located(sc: Scenario, label: str) -> Iterator[None]:
    """Problems of the scenario found while building or running it, as a ScenarioError at its line."""
    from gigawatt import catalog
    from gigawatt.workload.serving.steady import WorkloadError

    try:
        yield
    except (WorkloadError, catalog.CatalogError, ValueError) as exc:
        raise ScenarioError(error_at(sc, str(exc), label)) from None


def input_files(sc: Scenario, scenarios: list[tuple[str, Scenario]] | None = None) -> list[Path]:
    """The files a run reads (the scenario file, traces, weather files), which its results folder must
    never hold."""
    runs = variant_scenarios(sc) if scenarios is None else scenarios
    source = [sc._source[0]] if sc._source is not None else []
    traces = [getattr(getattr(v.workload, "arrivals", None), "path", None) for _, v in runs]
    weather = [getattr(v.site.weather, "path", None) for _, v in runs if v.site is not None]
    return [*source, *(Path(t) for t in traces + weather if t)]
