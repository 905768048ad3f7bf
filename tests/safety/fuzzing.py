"""Mutations of scenario files and trace CSVs, and a sandbox that shows whether a run touched anything but
its results folder."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"

# ---------------------------------------------------------------- values

NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, 2**63, 10**30, 3, 7, 16, 1024]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 1e308, 0.5, 1.5, 2.0, 100.0]),
)
NUMBER_TEXT = st.one_of(
    st.floats(0, 1_000).map(lambda x: f"{x:.3g}"),  # plausible: the run goes ahead more often
    st.sampled_from(
        ["1e400", "-1e400", "1e-400", "NaN", "inf", "-0", "0", "0.0001", "9" * 60, "1e308", ".5"]
    ),
    NUMBERS.map(str),
)
UNITS = st.sampled_from(
    ["s", "min", "h", "d", "ms", "W", "kW", "MW", "C", "K", "kg/s", "L/min", "MJ/K", "kJ/K", "K/W", "GB", ""]
)
QUANTITIES = st.builds(lambda n, sep, u: f"{n}{sep}{u}", NUMBER_TEXT, st.sampled_from(["", " ", "  "]), UNITS)
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from([".", "..", "../x", "a/b", "", " ", "\x00", "~", "/etc", "x" * 300, "base", "all"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2_000),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, QUANTITIES, TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path into a nested dict/list, the root excluded."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def _parent(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


ANY_CHANGE = ["scale"] * 3 + ["delete", "value", "unit", "add", "rename", "type"]


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], ops: list[str] = ANY_CHANGE) -> dict[str, Any]:
    """The scenario with up to three changes: a key deleted, a value replaced (an odd number in the same
    unit, another type, an odd value), a key added or renamed."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        every = list(paths(data))
        if not every:
            break
        path = draw(st.sampled_from(every))
        parent, key = _parent(data, path), path[-1]
        old = parent[key]
        op = draw(st.sampled_from(ops))
        factor = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.1, 2.0, 3.0, 10.0]))
        if op == "scale" and isinstance(old, int | float) and not isinstance(old, bool):
            parent[key] = type(old)(old * factor)  # odd but plausible: the run mostly goes ahead
        elif op == "scale" and isinstance(old, str) and " " in old:
            number, unit = old.split(" ", 1)
            with contextlib.suppress(ValueError):
                parent[key] = f"{float(number) * factor:g} {unit}"
        elif op == "delete":
            del parent[key]
        elif op == "unit" and isinstance(old, str) and " " in old:
            parent[key] = f"{draw(NUMBER_TEXT)} {old.split(' ', 1)[1]}"
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "nodes", "kind", "at", "units", key, "x" * 100]))] = draw(
                VALUES
            )
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(TEXT)] = parent.pop(key)
        elif op == "type":
            parent[key] = draw(st.sampled_from([[old], {"value": old}, str(old), None, []]))
        else:
            parent[key] = draw(VALUES)
    return data


@st.composite
def scenario_text(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """YAML text of a mutated scenario, sometimes with damage only text can carry: a duplicate key, deep
    nesting, an alias bomb, a truncation, a stray byte. Half of the cases only scale numbers, so that the
    simulation itself meets odd but valid values."""
    if draw(st.booleans()):
        return yaml.safe_dump(draw(mutated(base, ["scale"])), sort_keys=False, width=10**6)
    data = draw(mutated(base))
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6)
    except (yaml.YAMLError, ValueError, RecursionError):
        text = yaml.safe_dump(base, sort_keys=False)
    damage = draw(st.sampled_from(["none"] * 6 + ["duplicate", "nesting", "aliases", "truncate", "byte"]))
    if damage == "duplicate":
        lines = [line for line in text.splitlines() if line and not line[0].isspace()]
        if lines:
            text += draw(st.sampled_from(lines)) + "\n"
    elif damage == "nesting":
        depth = draw(st.integers(10, 2_000))
        text += (
            f"{draw(st.sampled_from(['extra', 'cluster', 'variants']))}: " + "[" * depth + "]" * depth + "\n"
        )
    elif damage == "aliases":
        text = (
            "x0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
            + "".join(
                f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, draw(st.integers(2, 9)))
            )
            + text
        )
    elif damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "byte":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["\x00", "\t", "\ufeff", "\x1b[31m", "\ud7ff", "\u2028"]))
            + text[at:]
        )
    return text


# ---------------------------------------------------------------- traces

YEARS = st.one_of(
    st.integers(2023, 2024), st.integers(1, 9999), st.sampled_from([1677, 1678, 2261, 2262, 2263])
)
STAMPS = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, frac: f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}{frac}",
        YEARS,
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 60),
        st.sampled_from(["", ".5", ".6805900", ".1234567891", "."]),
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=40),
)
TOKENS = st.one_of(
    st.integers(0, 5_000).map(str), NUMBER_TEXT, st.sampled_from(["", " 12 ", "-3", "1.5", "0x10"])
)


@st.composite
def trace_text(draw: st.DrawFn) -> bytes:
    """An Azure-format trace: half of them well formed (so that runs go ahead), half with odd headers,
    timestamps, token counts, row shapes and stray bytes."""
    odd = draw(st.booleans())
    header = HEADER
    if odd:
        header = draw(
            st.sampled_from(
                [
                    HEADER,
                    "TIMESTAMP,TIMESTAMP,ContextTokens,GeneratedTokens",
                    "TIMESTAMP,ContextTokens",
                    "GeneratedTokens,ContextTokens,TIMESTAMP",
                    HEADER + ",Extra",
                    "",
                    "password=hunter2",
                ]
            )
        )
    width = header.count(",") + 1
    tokens = TOKENS if odd else st.integers(1, 3_000).map(str)
    minute = draw(st.integers(0, 50))
    rows = []
    for i in range(draw(st.integers(0 if odd else 1, 40))):
        if odd and draw(st.integers(0, 9)) == 0:
            cells = [draw(STAMPS), *(draw(TOKENS) for _ in range(width - 1))]
            rows.append(",".join(cells[: draw(st.integers(1, width + 1))]))
        else:
            rows.append(f"2023-11-16 18:{minute:02d}:{i % 60:02d}.{i:07d},{draw(tokens)},{draw(tokens)}")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = (newline.join([header, *rows]) + draw(st.sampled_from(["", newline]))).encode()
    if odd and draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b"\xff\xfe", b"\x00", b'"', b"\xef\xbb\xbf"])) + text[at:]
    return text


# ---------------------------------------------------------------- sandbox


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path below `root` with its kind, mode and content (symlinks by their target)."""
    found: dict[str, tuple] = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(here) / name
            info = path.lstat()
            if path.is_symlink():
                found[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                found[str(path)] = ("dir", info.st_mode)
            else:
                found[str(path)] = ("file", info.st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return found
