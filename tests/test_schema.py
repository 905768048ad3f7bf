"""`gigawatt schema`: draft 2020-12 with an id, unit patterns that accept exactly what the loader reads,
catalog names as enums, and a description on every field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gigawatt import catalog
from gigawatt.cli import app
from gigawatt.scenario import SCHEMA_ID, ScenarioError, json_schema, load
from gigawatt.units import _UNITS, MAX_QUANTITY_CHARS, UnitError, parse_quantity, unit_pattern
from helpers import EXAMPLES, example_dict, with_changes

SCHEMA = json_schema()


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property of every object in the schema, as (Model.field, its schema)."""
    found = []

    def walk(where: str, node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                found.append((f"{where}.{name}", prop))
            for key, value in node.items():
                walk(f"{where}/{key}" if key == "$defs" else where, value)
        elif isinstance(node, list):
            for value in node:
                walk(where, value)

    walk("Scenario", schema)
    for name, definition in schema["$defs"].items():
        walk(name, definition)
    return found


def test_the_cli_prints_the_schema_with_its_dialect_and_id():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["$id"] == SCHEMA_ID
    assert printed == json.loads(json.dumps(SCHEMA))  # tuples print as lists


def test_every_property_has_a_description():
    props = _properties(SCHEMA)
    assert len(props) > 150
    missing = [name for name, prop in props if not prop.get("description")]
    assert missing == [], f"fields without a description: {missing}"


def test_quantities_carry_the_pattern_of_their_dimension():
    defs = SCHEMA["$defs"]
    assert SCHEMA["properties"]["duration"]["pattern"] == unit_pattern("time")
    assert defs["Cdu"]["properties"]["capacity"]["pattern"] == unit_pattern("power")
    assert defs["Liquid"]["properties"]["facility_supply"]["pattern"] == unit_pattern("temperature")
    assert defs["Liquid"]["properties"]["cold_plate_flow"]["pattern"] == unit_pattern("volume_flow")
    assert SCHEMA["properties"]["duration"]["maxLength"] == MAX_QUANTITY_CHARS


@pytest.mark.parametrize("dimension", sorted(_UNITS))
def test_every_unit_the_parser_reads_matches_the_pattern(dimension):
    pattern = re.compile(unit_pattern(dimension))
    for unit in _UNITS[dimension]:
        for text in (f"45 {unit}", f"1.5{unit}", f" -2e3 {unit} ", f".5 {unit}", f"+7.E-2\t{unit}"):
            parse_quantity(text, dimension)
            assert pattern.search(text), (text, dimension)


@pytest.mark.parametrize(
    ("text", "dimension"),
    [
        ("30 parsecs", "time"),
        ("45", "power"),
        ("45 kg", "power"),
        ("303 K", "temperature"),
        ("kW 45", "power"),
        ("4 5 kW", "power"),
        ("45 kW kW", "power"),
        ("\u0664\u0665 kW", "power"),  # Arabic-Indic digits: not ASCII, so neither reads them
        ("45 k\nW", "power"),
        ("1e5", "time"),
    ],
)
def test_what_the_parser_refuses_the_pattern_refuses(text, dimension):
    with pytest.raises(UnitError):
        parse_quantity(text, dimension)
    assert not re.search(unit_pattern(dimension), text)


_PIECES = [
    *("0", "1", "7", "45", ".", "e", "E", "-", "+", " ", "\t", "\n", "\u00a0", "x"),
    *("k", "W", "kW", "s", "min", "ms", "µs", "C", "°C", "B/s", "GB/s", "L/min", "m3/h"),
]


@given(st.sampled_from(sorted(_UNITS)), st.lists(st.sampled_from(_PIECES), max_size=8).map("".join))
def test_the_pattern_accepts_exactly_what_the_parser_reads(dimension, text):
    try:
        parse_quantity(text, dimension)
        parsed = True
    except UnitError as exc:
        parsed = "too large" in str(exc)  # finite range is checked on load, not by the pattern
    assert bool(re.search(unit_pattern(dimension), text)) == parsed, repr(text)


def test_catalog_names_and_aliases_are_enums():
    defs = SCHEMA["$defs"]
    gpus = defs["Cluster"]["properties"]["gpu"]["enum"]
    assert {"H100-SXM", "h100", "B200", "MI300X"} <= set(gpus)
    assert set(gpus) == set(catalog.names("gpus"))
    for kind in ("SteadyServing", "Serving", "Training"):
        models = set(defs[kind]["properties"]["model"]["enum"])
        assert {"Llama-3.1-70B", "llama3.1-70b", "DeepSeek-V3"} <= models
    assert "oam-1kW-water" in defs["Liquid"]["properties"]["cold_plate"]["enum"]
    assert "psu-80plus-titanium-230v" in defs["Psu"]["properties"]["curve"]["enum"]
    assert "roce-400g" in defs["Network"]["properties"]["nic"]["enum"]
    # Every name in an enum is one the loader takes.
    for name in gpus:
        catalog.gpu(name)
    assert "x-catalog" not in json.dumps(SCHEMA)


def _errors(node: dict[str, Any], value: Any, where: str = "") -> list[str]:
    """The few JSON Schema keywords the scenario schema uses, enough to check examples against it."""
    if "$ref" in node:
        target = SCHEMA["$defs"][node["$ref"].split("/")[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [_errors(option, value, where) for option in node[key]]
            return [] if any(not errs for errs in options) else [f"{where}: no option fits: {options}"]
    if isinstance(value, str) and "pattern" in node and not re.search(node["pattern"], value):
        return [f"{where}: {value!r} does not match its pattern"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} not in the enum"]
    if "const" in node and value != node["const"]:
        return [f"{where}: {value!r} is not {node['const']!r}"]
    errors = []
    if isinstance(value, dict) and "properties" in node:
        for key, item in value.items():
            if key not in node["properties"]:
                errors.append(f"{where}.{key}: not allowed")
            else:
                errors += _errors(node["properties"][key], item, f"{where}.{key}")
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            errors += _errors(node["items"], item, f"{where}.{i}")
    return errors


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_fits_the_schema(path: Path):
    data = yaml.safe_load(path.read_text())
    assert _errors(SCHEMA, data) == []


def test_the_schema_check_finds_a_wrong_unit():
    data = with_changes(example_dict("balanced"), duration="30 parsecs")
    assert _errors(SCHEMA, data) == [".duration: '30 parsecs' does not match its pattern"]


def test_the_loader_refuses_a_unit_of_another_dimension(tmp_path):
    path = tmp_path / "parsecs.yaml"
    path.write_text(yaml.safe_dump(with_changes(example_dict("balanced"), duration="30 parsecs")))
    with pytest.raises(ScenarioError) as info:
        load(path)
    message = str(info.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: duration: ", message)
    assert "unit 'parsecs' is not a time unit (ns, us, µs, ms, s, min, h, d)" in message
