"""Read operator and collective timings in the layout of vidur's `data/profiling/` (github microsoft/vidur).

    <root>/compute/<gpu>/<org>/<model>/mlp.csv     per-layer op times (ms) by num_tokens and TP degree
    <root>/network/<setup>/all_reduce.csv          NCCL all-reduce times (ms) by size (B) and workers

Rows come back as flat NumPy columns (one element per CSV row and operator), times in seconds. Any
problem with the input raises `DataError` naming the path (and line and column where there is one) and
what was expected. Files are read through `gigawatt.safety` (regular files only, bounded size), so a FIFO
or device named mlp.csv is refused instead of blocking or never ending.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from gigawatt.safety import InputFileError, excerpt, read_regular_file

# The weight GEMMs of a transformer layer, as vidur names them.
LINEAR_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
SHAPE_COLUMNS = (
    "n_head", "n_kv_head", "n_embd", "n_expanded_embd", "use_gated_mlp",
    "num_tokens", "num_tensor_parallel_workers",
)
NETWORK_COLUMNS = ("size", "num_workers", "devices_per_node", "time_stats.all_reduce.median")
COMPUTE_GLOB = "compute/<gpu>/<org>/<model>/mlp.csv"
NETWORK_GLOB = "network/<setup>/all_reduce.csv"
_MS = 1e-3
MAX_BYTES = 64 << 20  # vidur's largest profiling CSV is 1.2 MB
# Columns that must hold positive, finite numbers: a zero or NaN shape would make every prediction of
# its row meaningless. (Time columns may not: a missing time is a failed measurement and its row is dropped.)
POSITIVE_COLUMNS = (*(c for c in SHAPE_COLUMNS if c != "use_gated_mlp"), "size", "num_workers",
                    "devices_per_node")


class DataError(ValueError):
    """A measurement folder or file that cannot be read as vidur profiling data."""


@dataclass(frozen=True)
class ComputeRows:
    """One element per (CSV row, linear operator); `measured` is the median time in s."""

    gpu: np.ndarray  # folder name, e.g. "a100"
    model: np.ndarray  # "<org>/<model>"
    op: np.ndarray  # one of LINEAR_OPS
    tokens: np.ndarray
    tp: np.ndarray
    n_head: np.ndarray
    n_kv_head: np.ndarray
    n_embd: np.ndarray
    n_expanded_embd: np.ndarray
    gated: np.ndarray  # bool
    measured: np.ndarray

    def __len__(self) -> int:
        return len(self.measured)

    def take(self, mask: np.ndarray) -> ComputeRows:
        return ComputeRows(**{k: v[mask] for k, v in vars(self).items()})


@dataclass(frozen=True)
class NetworkRows:
    """One element per all-reduce CSV row; `measured` is the median time in s."""

    setup: np.ndarray
    size: np.ndarray  # B
    num_workers: np.ndarray
    devices_per_node: np.ndarray
    measured: np.ndarray

    def __len__(self) -> int:
        return len(self.measured)

    def take(self, mask: np.ndarray) -> NetworkRows:
        return NetworkRows(**{k: v[mask] for k, v in vars(self).items()})


def _subfolder(root: Path, name: str) -> Path | None:
    """`root/name`, or root itself when the user pointed at the compute/ or network/ folder directly."""
    if (root / name).is_dir():
        return root / name
    return root if root.name == name else None


def find_files(root: Path) -> tuple[list[Path], list[Path]]:
    """The mlp.csv and all_reduce.csv files under `root`, sorted so that results are deterministic."""
    expected = f"expected a vidur profiling folder with {COMPUTE_GLOB} and/or {NETWORK_GLOB}"
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; {expected}")
    compute, network = _subfolder(root, "compute"), _subfolder(root, "network")
    mlp = sorted(compute.glob("*/*/*/mlp.csv")) if compute else []
    all_reduce = sorted(network.glob("*/all_reduce.csv")) if network else []
    if not mlp and not all_reduce:
        raise DataError(f"{root}: no measurement files found; {expected}")
    return mlp, all_reduce


def _read_csv(path: Path, needed: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    try:
        data = read_regular_file(path, MAX_BYTES, "measurement file")
    except InputFileError as err:
        raise DataError(str(err)) from None
    bad_rows: list[str] = []

    def refuse(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.text)
        return "error"

    try:
        options = pacsv.ParseOptions(invalid_row_handler=refuse)
        table = pacsv.read_csv(pa.BufferReader(data), parse_options=options)
    except (pa.ArrowInvalid, OSError) as err:
        if bad_rows:
            line = _line_of_row(data, bad_rows[0])
            where = f", line {line}" if line else ""
            raise DataError(f"{path}{where}: the row {excerpt(bad_rows[0])} does not have one value per "
                            f"header column; expected {what}") from None
        reason = excerpt(str(err).splitlines()[0] if str(err) else type(err).__name__, 120)
        raise DataError(f"{path}: cannot be read as CSV ({reason}); expected {what}") from None
    names = table.column_names
    missing = [c for c in needed if c not in names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected {what}")
    repeated = [c for c in needed if names.count(c) > 1]
    if repeated:
        raise DataError(f"{path}: column(s) {', '.join(repeated)} appear more than once in the header")
    columns = {}
    for name in needed:
        column = table[name]
        if pa.types.is_string(column.type) and name == "use_gated_mlp":  # "True"/"False" read as text
            text = np.char.lower(column.to_numpy(zero_copy_only=False).astype(str))
            _check(path, name, ~np.isin(text, ("true", "false")), column, "True or False")
            columns[name] = text == "true"
            continue
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                or pa.types.is_boolean(column.type)):
            raise DataError(f"{path}: column {name} is {column.type}, not numeric; expected {what}")
        values = column.to_numpy(zero_copy_only=False)
        if name in POSITIVE_COLUMNS:
            number = values.astype(float)
            _check(path, name, ~(np.isfinite(number) & (number > 0)), column, "a positive number")
        columns[name] = values
    return columns


def _check(path: Path, name: str, bad: np.ndarray, column: pa.ChunkedArray, allowed: str) -> None:
    """Refuse the first bad row of a column, naming its line (the header is line 1)."""
    if bad.any():
        row = int(np.argmax(bad))
        value = column[row].as_py()
        raise DataError(f"{path}, line {row + 2}: column {name} is {excerpt(value)}; must be {allowed}")


def _line_of_row(data: bytes, text: str) -> int | None:
    """Line of the first physical line reading `text` (pyarrow reports a bad row's text, not its line)."""
    target = text.encode("utf-8", "replace")
    for number, line in enumerate(data.splitlines(), start=1):
        if line == target:
            return number
    return None


def read_compute(files: list[Path]) -> ComputeRows:
    """Linear-operator rows of every mlp.csv in `files` (paths as found by `find_files`)."""
    what = (f"{COMPUTE_GLOB} with columns {', '.join(SHAPE_COLUMNS)} "
            f"and time_stats.<op>.median for {', '.join(LINEAR_OPS)}")
    needed = SHAPE_COLUMNS + tuple(f"time_stats.{op}.median" for op in LINEAR_OPS)
    parts: list[dict[str, np.ndarray]] = []
    for path in files:
        cols = _read_csv(path, needed, what)
        rows = len(cols["num_tokens"])
        model = f"{path.parent.parent.name}/{path.parent.name}"
        for op in LINEAR_OPS:  # one block per operator: a loop over 4 names, not over rows
            parts.append({
                "gpu": np.full(rows, path.parents[2].name, dtype=object),
                "model": np.full(rows, model, dtype=object),
                "op": np.full(rows, op, dtype=object),
                "tokens": cols["num_tokens"].astype(float),
                "tp": cols["num_tensor_parallel_workers"].astype(float),
                "n_head": cols["n_head"].astype(float),
                "n_kv_head": cols["n_kv_head"].astype(float),
                "n_embd": cols["n_embd"].astype(float),
                "n_expanded_embd": cols["n_expanded_embd"].astype(float),
                "gated": cols["use_gated_mlp"].astype(bool),
                "measured": cols[f"time_stats.{op}.median"].astype(float) * _MS,
            })
    return _finish(ComputeRows, parts)


def read_all_reduce(files: list[Path]) -> NetworkRows:
    """All-reduce rows of every all_reduce.csv in `files`."""
    what = f"{NETWORK_GLOB} with columns {', '.join(NETWORK_COLUMNS)}"
    parts: list[dict[str, np.ndarray]] = []
    for path in files:
        cols = _read_csv(path, NETWORK_COLUMNS, what)
        parts.append({
            "setup": np.full(len(cols["size"]), path.parent.name, dtype=object),
            "size": cols["size"].astype(float),
            "num_workers": cols["num_workers"].astype(int),
            "devices_per_node": cols["devices_per_node"].astype(int),
            "measured": cols["time_stats.all_reduce.median"].astype(float) * _MS,
        })
    return _finish(NetworkRows, parts)


_Rows = TypeVar("_Rows", ComputeRows, NetworkRows)


def _finish(kind: type[_Rows], parts: list[dict[str, np.ndarray]]) -> _Rows:
    """Concatenate the per-file blocks; drop rows without a positive, finite time (a failed measurement)."""
    fields = kind.__dataclass_fields__
    if not parts:
        text = ("gpu", "model", "op", "setup")
        return kind(**{k: np.array([], dtype=object if k in text else float) for k in fields})
    rows = kind(**{k: np.concatenate([p[k] for p in parts]) for k in fields})
    good = np.isfinite(rows.measured) & (rows.measured > 0)
    return rows if good.all() else rows.take(good)
