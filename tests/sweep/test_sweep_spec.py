"""Sweep files: axes, how they combine, and the errors a bad sweep file gets."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from gigawatt.cli import app
from gigawatt.sweep.spec import Axis, SweepError, combinations, read_sweep, unit_samples


def test_grid_is_the_product_of_the_axes(write_sweep, base_file):
    path = write_sweep(axes={"workload.arrivals.rate": [1]})
    assert set(read_sweep(path).inputs) == {path.resolve(), base_file.resolve()}  # kept out of --out
    sweep = read_sweep(
        write_sweep(
            axes={
                "power.rack_budget": ["8 kW", "10 kW", "12 kW"],
                "workload.arrivals.rate": {"low": 1, "high": 4, "steps": 4},
            }
        )
    )
    assert len(sweep.points) == 12
    assert [p.set["workload.arrivals.rate"] for p in sweep.points[:4]] == [1, 2, 3, 4]
    # Values as the scenario holds them, in its units: 8 kW is 8000 W.
    assert sweep.points[0].values == {"power.rack_budget": 8000.0, "workload.arrivals.rate": 1.0}
    assert sweep.units == {"power.rack_budget": "W", "workload.arrivals.rate": None}
    assert len({p.id for p in sweep.points}) == 12
    assert sweep.points[5].data["power"]["rack_budget"] == "10 kW"


def test_zip_pairs_values_and_refuses_unequal_lengths(write_sweep):
    sweep = read_sweep(
        write_sweep(
            combine="zip",
            axes={"power.rack_budget": ["8 kW", "12 kW"], "cooling.liquid.facility_supply": ["20 C", "40 C"]},
        )
    )
    assert [p.set for p in sweep.points] == [
        {"power.rack_budget": "8 kW", "cooling.liquid.facility_supply": "20 C"},
        {"power.rack_budget": "12 kW", "cooling.liquid.facility_supply": "40 C"},
    ]
    path = write_sweep(
        combine="zip", axes={"power.rack_budget": ["8 kW", "12 kW"], "workload.arrivals.rate": [1, 2, 3]}
    )
    with pytest.raises(
        SweepError, match=r"equal length \(power.rack_budget has 2, workload.arrivals.rate has 3\)"
    ):
        read_sweep(path)


def test_latin_hypercube_puts_one_point_in_each_stratum_of_each_axis():
    n, dims = 37, 3
    u = unit_samples("lhs", n, dims, seed=11)
    assert u.shape == (n, dims) and ((u >= 0) & (u < 1)).all()
    for j in range(dims):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))
    # Independent draws (random) do not stratify: with 37 points some stratum is empty.
    r = unit_samples("random", n, dims, seed=11)
    assert any(len(set(np.floor(r[:, j] * n).astype(int))) < n for j in range(dims))


def test_sampling_is_determined_by_the_seed(write_sweep):
    axes = {
        "cooling.liquid.facility_supply": {"low": "20 C", "high": "45 C"},
        "power.rack_budget": {"low": "6 kW", "high": "12 kW"},
    }
    a = read_sweep(write_sweep("a", combine="lhs", samples=20, seed=3, axes=axes))
    b = read_sweep(write_sweep("b", combine="lhs", samples=20, seed=3, axes=axes))
    c = read_sweep(write_sweep("c", combine="lhs", samples=20, seed=4, axes=axes))
    assert [p.set for p in a.points] == [p.set for p in b.points]
    assert [p.id for p in a.points] == [p.id for p in b.points]
    assert [p.set for p in a.points] != [p.set for p in c.points]
    supplies = [p.values["cooling.liquid.facility_supply"] for p in a.points]
    assert all(20.0 <= s <= 45.0 for s in supplies)
    # Each fifth of the range holds exactly four of the twenty points (stratified, up to written rounding).
    assert (
        np.bincount(np.minimum(((np.array(supplies) - 20) / 25 * 5).astype(int), 4), minlength=5).tolist()
        == [4] * 5
    )


def test_random_range_values_stay_in_bounds_and_keep_their_unit():
    axis = Axis("power.rack_budget", None, low=6.0, high=12.0, unit="kW")
    combos = combinations((axis,), "random", 50, seed=1)
    values = [float(c["power.rack_budget"].removesuffix(" kW")) for c in combos]
    assert all(6.0 <= v <= 12.0 for v in values) and len(set(values)) == 50
    whole = Axis("workload.arrivals.rate", None, low=1.0, high=4.0, integer=True)
    assert {c["workload.arrivals.rate"] for c in combinations((whole,), "random", 200, seed=1)} == {
        1,
        2,
        3,
        4,
    }


def test_point_ids_depend_on_the_values_and_the_base(write_sweep, base_file):
    first = read_sweep(write_sweep(axes={"power.rack_budget": ["8 kW", "12 kW"]}))
    again = read_sweep(write_sweep("again", axes={"power.rack_budget": ["12 kW", "8 kW"]}))
    assert {p.id for p in first.points} == {p.id for p in again.points}
    base_file.write_text(base_file.read_text().replace("seed: 5", "seed: 6"))
    changed = read_sweep(write_sweep(axes={"power.rack_budget": ["8 kW", "12 kW"]}))
    assert not {p.id for p in first.points} & {p.id for p in changed.points}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"axes": {"power.rack_bugdet": ["8 kW"]}},
            r"s.yaml:\d+: axes.power.rack_bugdet: unknown field 'rack_bugdet' in power \(allowed: capping, "
            r"gpu_power_limit, hall_budget, hall_budgets, host_power_per_node, psu, rack_budget",
        ),
        (
            {"axes": {"power.rack_budget": ["8 kW", "9 kV"]}},
            r"s.yaml:\d+: axis power.rack_budget, point 2 of 2 \(power.rack_budget='9 kV'\): "
            r"power.rack_budget: .*kV.* is not a power unit \(W, kW, MW, mW\)",
        ),
        (
            {
                "axes": {"cooling.liquid.facility_supply": {"low": "20 C", "high": "40 W"}, "seed": [1]},
                "combine": "random",
                "samples": 3,
            },
            r"axes.cooling.liquid.facility_supply: low \(20 C\) and high \(40 W\) are not of one dimension",
        ),
        (
            {"axes": {"cooling.liquid.facility_supply": {"low": "20 C", "high": "30 C"}}},
            r"a range in a grid needs steps",
        ),
        ({"axes": {"power.rack_budget": ["8 kW"]}, "combine": "lhs"}, r"combine lhs needs samples"),
        (
            {"axes": {"power.rack_budget": ["8 kW"]}, "combine": "cube"},
            r"combine: must be one of grid, zip, random, lhs",
        ),
        ({"axes": {"power": ["8 kW"], "power.rack_budget": ["8 kW"]}}, r"overlaps axis power"),
        (
            {
                "axes": {
                    "power.rack_budget": {"low": "6 kW", "high": "12 kW", "steps": 100},
                    "cooling.liquid.facility_supply": {"low": "20 C", "high": "40 C", "steps": 100},
                    "workload.arrivals.rate": {"low": 1, "high": 10, "steps": 11},
                }
            },
            r"axes: the grid has 110,000 points, more than 100,000",
        ),
        (
            {"axes": {"cluster.nodes_per_rack": [1, 2]}},
            r"axes \(together\), point 2 of 2 \(cluster.nodes_per_rack=2\): cluster: nodes \(1\) must be a "
            r"multiple of nodes_per_rack \(2\)",
        ),
        (
            {"axes": {"workload.arrivals.rate": [2, -1]}},
            r"axis workload.arrivals.rate, point 2 of 2 .*greater than 0",
        ),
        (
            {"axes": {"power.rack_budget": ["8 kW"]}, "scenario": "missing.yaml"},
            r"the base scenario does not load",
        ),
        ({"axes": {"power.rack_budget": ["8 kW"]}, "steps": 3}, r"steps: unknown key \(allowed: name"),
    ],
)
def test_bad_sweep_files_name_the_file_axis_and_point(write_sweep, content, expected):
    with pytest.raises(SweepError, match=expected):
        read_sweep(write_sweep(**content))


def test_the_command_refuses_a_bad_sweep_with_exit_2_and_no_traceback(write_sweep, tmp_path):
    path = write_sweep(axes={"power.rack_budget": ["8 kW", "nine kW"]})
    result = CliRunner().invoke(
        app, ["sweep", str(path), "--out", str(tmp_path / "out"), "--engine", "local"]
    )
    assert result.exit_code == 2
    assert (
        "s.yaml" in result.output
        and "axis power.rack_budget" in result.output
        and "point 2 of 2" in result.output
    )
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
