"""Sweep files: a base scenario, axes over its fields by dotted path, and how the axes combine.

    name: rack-budget                 # optional; default: the file's stem
    scenario: tiny-rack.yaml          # the base scenario, relative to this file
    combine: lhs                      # grid (product), zip, random or lhs (Latin hypercube)
    samples: 120                      # random / lhs: how many points
    seed: 7                           # random / lhs: the sampling seed (default 0)
    axes:
      power.rack_budget: [20 kW, 30 kW, 45 kW]        # a list of values, written as in a scenario
      cooling.air.supply: {low: 18 C, high: 32 C}     # a range: sampled, or `steps` evenly spaced values

Every point is the base scenario with its axis values set (its own `variants` dropped), validated up front:
one bad point refuses the whole sweep, naming the sweep file, the axis and the point.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from gigawatt.results_folder import run_identity
from gigawatt.safety import InputFileError, excerpt
from gigawatt.scenario import (
    MAX_ERRORS_SHOWN,
    WORKLOAD_KINDS,
    Scenario,
    ScenarioError,
    _describe,
    _line_of,
    load,
)
from gigawatt.units import SCENARIO_RANGE, UnitError, internal_unit, parse_quantity
from gigawatt.yaml_io import YamlInputError
from gigawatt.yaml_io import read as read_yaml

COMBINES = ("grid", "zip", "random", "lhs")
TOP_KEYS = ("name", "description", "scenario", "combine", "samples", "seed", "axes")
RANGE_KEYS = ("low", "high", "steps")
MAX_POINTS = 100_000
ID_CHARS = 16  # hex digits of a point's id: 64 bits, no collision in any sweep this size
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")


class SweepError(Exception):
    """A sweep file that cannot be run; the message names the file, line, axis and point."""


@dataclass(frozen=True)
class Axis:
    path: str  # dotted scenario field, e.g. power.rack_budget
    values: tuple[Any, ...] | None  # a list axis: the values as written
    low: float | None = None  # a range axis: bounds in `unit` (or plain numbers)
    high: float | None = None
    unit: str | None = None  # the unit the range is written in ("kW"); None for plain numbers
    integer: bool = False  # a range of whole numbers
    steps: int | None = None

    def at(self, u: float) -> Any:
        """The axis value at position u in [0, 1): a list value by stratum, a range value by interpolation."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        assert self.low is not None and self.high is not None
        x = self.low + u * (self.high - self.low)
        return self._written(x)

    def grid(self) -> tuple[Any, ...]:
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None and self.steps is not None
        if self.steps == 1:
            return (self._written(self.low),)
        return tuple(
            self._written(self.low + i * (self.high - self.low) / (self.steps - 1)) for i in range(self.steps)
        )

    def _written(self, x: float) -> Any:
        if self.integer:
            return round(x)
        x = float(f"{x:.6g}")  # as a person would write it: ids and files stay short and stable
        number = f"{x:g}" if x != int(x) or abs(x) >= 1e16 else str(int(x))
        return f"{number} {self.unit}" if self.unit else x


@dataclass(frozen=True)
class Point:
    index: int  # position in the sweep's plan
    id: str  # hash of the base scenario and the values set: equal points share an id across runs
    set: dict[str, Any]  # dotted path -> value as written
    values: dict[str, Any]  # dotted path -> value as the validated scenario holds it (internal units)
    data: dict[str, Any]  # the scenario input of this point


@dataclass(frozen=True)
class Sweep:
    path: Path
    name: str
    description: str
    scenario_path: Path
    combine: str
    seed: int
    samples: int | None
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]
    units: dict[str, str | None]  # axis path -> internal unit of its column, where a quantity
    base_input_sha256: str
    inputs: tuple[Path, ...]  # every file the points read (sweep file, base scenario, traces): never in --out

    @property
    def identity(self) -> dict[str, Any]:
        """What identifies this sweep's plan in its folder: a rerun with the same identity resumes."""
        return {
            "sweep": self.name,
            "combine": self.combine,
            "seed": self.seed,
            "base_input_sha256": self.base_input_sha256,
            "axes": [a.path for a in self.axes],
            "points": [p.id for p in self.points],
        }


# ---------------------------------------------------------------- combining axes


def unit_samples(combine: Literal["random", "lhs"], n: int, dims: int, seed: int) -> np.ndarray:
    """An n × dims matrix of positions in [0, 1): independent uniform draws, or a Latin hypercube (each
    axis's n equal strata hold one point each, strata paired at random across axes)."""
    rng = np.random.default_rng(seed)
    if combine == "random":
        return rng.random((n, dims))
    strata = np.stack([rng.permutation(n) for _ in range(dims)], axis=1) if dims else np.zeros((n, 0))
    return (strata + rng.random((n, dims))) / n


def combinations(
    axes: tuple[Axis, ...], combine: str, samples: int | None, seed: int
) -> list[dict[str, Any]]:
    """The points' values as written, one dict per point, in plan order."""
    if combine == "grid":
        return [
            dict(zip([a.path for a in axes], combo, strict=True))
            for combo in itertools.product(*(a.grid() for a in axes))
        ]
    if combine == "zip":
        lengths = {a.path: len(a.grid()) for a in axes}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{p} has {n}" for p, n in lengths.items())
            raise ValueError(f"combine zip needs axes of equal length ({shown})")
        columns = [a.grid() for a in axes]
        return [dict(zip(lengths, row, strict=True)) for row in zip(*columns, strict=True)]
    assert samples is not None
    u = unit_samples(combine, samples, len(axes), seed)  # type: ignore[arg-type]
    return [{a.path: a.at(float(u[i, j])) for j, a in enumerate(axes)} for i in range(samples)]


def point_id(base_sha256: str, values: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"base": base_sha256, "set": values}, sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_CHARS]


# ---------------------------------------------------------------- field paths


def _models_in(annotation: Any) -> list[type[BaseModel]] | None:
    """Pydantic models a field's annotation holds (unwrapping Optional, unions and Annotated); None where it
    holds a free-form mapping, whose keys are not checked."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            inner = _models_in(arg)
            if inner is None:
                return None
            found += inner
        return found
    if origin is dict or annotation is dict or annotation is Any:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def check_field_path(path: str) -> None:
    """ValueError naming the first unknown part of a dotted scenario field path and the allowed names."""
    models: list[type[BaseModel]] | None = [Scenario]
    done: list[str] = []
    for part in path.split("."):
        if models is None:
            return  # inside a free-form mapping (e.g. workload.moe.router_options)
        fields = {name: f for m in models for name, f in m.model_fields.items()}
        if part not in fields or part == "variants":
            where = ".".join(done) or "a scenario"
            if not fields or not models:
                raise ValueError(f"{'.'.join(done)} has no fields to set; set it whole")
            allowed = ", ".join(sorted(n for n in fields if n != "variants"))
            raise ValueError(f"unknown field {part!r} in {where} (allowed: {allowed})")
        models = _models_in(fields[part].annotation)
        done.append(part)


# ---------------------------------------------------------------- reading a sweep file


def _dimension_of(text: str) -> tuple[str, float, str]:
    """(dimension, number, unit) of a quantity string such as "45 kW"; ValueError if it is none."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{excerpt(text)} is not a number followed by a unit")
    number, unit = match.groups()
    for dimension in SCENARIO_RANGE:
        try:
            parse_quantity(text, dimension)
        except UnitError:
            continue
        return dimension, float(number), unit
    raise ValueError(f"{excerpt(text)}: unit {excerpt(unit)} is not a unit a scenario uses")


def _range_axis(path: str, spec: dict[str, Any], combine: str) -> Axis:
    unknown = sorted(set(map(str, spec)) - set(RANGE_KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in a range (allowed: low, high, steps)")
    if "low" not in spec or "high" not in spec:
        raise ValueError("a range needs low and high")
    steps = spec.get("steps")
    if steps is not None and (
        isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_POINTS
    ):
        raise ValueError(f"steps must be a whole number from 1 to {MAX_POINTS:,}")
    if combine in ("grid", "zip") and steps is None:
        raise ValueError(f"a range in a {combine} needs steps (how many evenly spaced values)")
    low, high = spec["low"], spec["high"]
    if isinstance(low, str) and isinstance(high, str):
        (dim_lo, x_lo, unit_lo), (dim_hi, x_hi, unit_hi) = _dimension_of(low), _dimension_of(high)
        if dim_lo != dim_hi:
            raise ValueError(f"low ({low}) and high ({high}) are not of one dimension ({dim_lo}, {dim_hi})")
        if unit_lo != unit_hi:  # mixed units: interpolate in the package's unit
            unit_lo = internal_unit(dim_lo)
            x_lo, x_hi = parse_quantity(low, dim_lo), parse_quantity(high, dim_lo)
        return _checked(Axis(path, None, x_lo, x_hi, unit_lo, steps=steps))
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers:
        raise ValueError("low and high must both be numbers, or both quantities with units (e.g. 18 C)")
    integer = isinstance(low, int) and isinstance(high, int)
    return _checked(Axis(path, None, float(low), float(high), None, integer=integer, steps=steps))


def _checked(axis: Axis) -> Axis:
    assert axis.low is not None and axis.high is not None
    if not (math.isfinite(axis.low) and math.isfinite(axis.high)) or axis.low > axis.high:
        raise ValueError("low must be a finite number no more than high")
    return axis


def _axis(path: str, spec: Any, combine: str) -> Axis:
    check_field_path(path)
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an axis needs at least one value")
        return Axis(path, tuple(spec))
    if isinstance(spec, dict):
        return _range_axis(path, spec, combine)
    raise ValueError("an axis is a list of values or a range {low, high, steps}")


def read_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and every point of it; SweepError says what is wrong and where."""
    path = Path(path)
    try:
        doc = read_yaml(path, "sweep file")
    except InputFileError as exc:
        raise SweepError(str(exc)) from None
    except YamlInputError as exc:
        raise SweepError(exc.located(path)) from None
    root, data = doc.root, doc.data

    def at(loc: list[Any], message: str) -> SweepError:
        line = _line_of(root, loc)
        return SweepError(
            f"{path}:{line}: {'.'.join(map(str, loc))}: {message}" if line else f"{path}: {message}"
        )

    if not isinstance(data, dict):
        raise SweepError(f"{path}: a sweep file is a YAML mapping with scenario and axes")
    for key in data:
        if key not in TOP_KEYS:
            raise at([key], f"unknown key (allowed: {', '.join(TOP_KEYS)})")
    for key in ("scenario", "axes"):
        if key not in data:
            raise SweepError(f"{path}: missing required key {key!r}")
    combine = data.get("combine", "grid")
    if combine not in COMBINES:
        raise at(["combine"], f"must be one of {', '.join(COMBINES)}, not {excerpt(combine)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise at(["seed"], "must be a whole number from 0 to 2**63 - 1")
    samples = data.get("samples")
    if combine in ("random", "lhs"):
        if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_POINTS:
            raise at(
                ["samples"] if "samples" in data else ["combine"],
                f"combine {combine} needs samples: a whole number from 1 to {MAX_POINTS:,}",
            )
    elif samples is not None:
        raise at(["samples"], f"samples is for combine random or lhs; a {combine} takes every value")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        raise at(
            ["name"],
            "must be letters, digits, '_', '.' or '-' (at most 100), starting with a letter or digit",
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise at(["description"], "must be text")
    if not isinstance(data["scenario"], str):
        raise at(["scenario"], "must be the path of a scenario file")
    base_path = Path(data["scenario"])
    base_path = base_path if base_path.is_absolute() else path.parent / base_path
    axes_spec = data["axes"]
    if not isinstance(axes_spec, dict) or not axes_spec:
        raise at(
            ["axes"], "must map dotted scenario fields to values, e.g. power.rack_budget: [20 kW, 45 kW]"
        )
    axes = []
    for key, spec in axes_spec.items():
        if not isinstance(key, str):
            raise at(["axes"], f"{excerpt(key)} is not a dotted field path")
        try:
            axes.append(_axis(key, spec, combine))
        except ValueError as exc:
            raise at(["axes", key], str(exc)) from None
    for a, b in itertools.combinations(axes, 2):
        if b.path.startswith(a.path + ".") or a.path.startswith(b.path + "."):
            raise at(["axes", b.path], f"overlaps axis {a.path}: an axis may not set a field inside another")

    try:
        base = load(base_path)
    except ScenarioError as exc:
        raise at(["scenario"], f"the base scenario does not load:\n{exc}") from None
    raw = copy.deepcopy(base.raw)
    raw.pop("variants", None)
    base_sha = run_identity(base.name, base.seed, raw)["input_sha256"]
    if combine == "grid" and (size := math.prod(len(a.grid()) for a in axes)) > MAX_POINTS:
        raise at(["axes"], f"the grid has {size:,} points, more than {MAX_POINTS:,}")
    try:
        combos = combinations(tuple(axes), combine, samples, seed)
    except ValueError as exc:
        raise at(["axes"], str(exc)) from None
    from gigawatt.api import input_files  # the files `gigawatt run` keeps out of its results folder

    points, seen, inputs = [], {}, {path.resolve(): None}
    for i, values in enumerate(combos):
        pid = point_id(base_sha, values)
        if pid in seen:  # a duplicate draw (a list axis sampled) or a repeated list value: run it once
            continue
        seen[pid] = i
        point_data = _with_values(raw, values)
        sc = _validate_point(path, root, base_path, axes, i, len(combos), values, point_data)
        inputs.update((p.resolve(), None) for p in [base_path, *input_files(sc, [("base", sc)])])
        points.append(Point(len(points), pid, values, {p: _value_at(sc, p) for p in values}, point_data))
    return Sweep(
        path=path,
        name=name,
        description=description,
        scenario_path=base_path,
        combine=combine,
        seed=seed,
        samples=samples,
        axes=tuple(axes),
        points=tuple(points),
        units={a.path: _unit_of(a, points) for a in axes},
        base_input_sha256=base_sha,
        inputs=tuple(inputs),
    )


def _with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for dotted, value in values.items():
        node = out
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = copy.deepcopy(value)
    return out


def _validate_point(
    path: Path,
    root: yaml.Node | None,
    base_path: Path,
    axes: list[Axis],
    index: int,
    total: int,
    values: dict[str, Any],
    data: dict[str, Any],
) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    except ValueError as exc:  # a catalog lookup outside pydantic's errors
        errors = [{"loc": (), "type": "value_error", "msg": str(exc)}]
    shown = ", ".join(f"{p}={excerpt(v)}" for p, v in values.items())
    lines = []
    for err in errors[:MAX_ERRORS_SHOWN]:
        loc = [str(p) for p in err["loc"]]
        loc = [p for i, p in enumerate(loc) if not (i and loc[i - 1] == "workload" and p in WORKLOAD_KINDS)]
        field = ".".join(loc)
        axis = next((a.path for a in axes if field == a.path or field.startswith(a.path + ".")), None)
        problem = _describe(base_path, None, err).split(": ", 1)[1]  # "field: message", without the file
        key = ["axes", axis] if axis else ["axes"]
        line = _line_of(root, key)
        who = f"axis {axis}" if axis else "axes (together)"
        lines.append(f"{path}:{line}: {who}, point {index + 1} of {total} ({shown}): {problem}")
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
    raise SweepError("\n".join(lines))


def _value_at(sc: Scenario, dotted: str) -> Any:
    value: Any = sc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"), sort_keys=True)
    return value


def _unit_of(axis: Axis, points: list[Point]) -> str | None:
    """The internal unit of an axis whose values are quantities ("W" for "45 kW"), else None."""
    for p in points:
        text = p.set.get(axis.path)
        if isinstance(text, str):
            try:
                return internal_unit(_dimension_of(text)[0])
            except ValueError:
                return None
    return None
