"""`--out` replaces only what gigawatt can prove it wrote, fails before simulating where it could not write,
and cleans up after runs that were killed (issue 7, results-folder ownership)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gigawatt.engine
from gigawatt.cli import app
from helpers import EXAMPLES

SHORT = (EXAMPLES / "balanced.yaml").read_text().replace("duration: 30 min", "duration: 1 min")


def run(*args: str):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def scenario_file(folder: Path, text: str = SHORT, name: str = "scen.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a run gets as far as simulating."""

    def refuse(*args, **kwargs):
        raise AssertionError("the simulation started")

    monkeypatch.setattr(gigawatt.engine.Engine, "run", refuse)


def test_a_folder_holding_a_summary_and_other_files_is_never_replaced(tmp_path):
    thesis = tmp_path / "thesis"
    (thesis / "src").mkdir(parents=True)
    (thesis / "summary.json").write_text("{}")
    (thesis / "thesis.tex").write_text("\\chapter{One}")
    (thesis / "src" / "main.py").write_text("print(1)")
    before = tree(thesis)
    result = run(scenario_file(tmp_path / "in"), "--out", thesis)
    assert result.exit_code == 2, result.output
    assert "gigawatt did not write it" in result.output
    assert tree(thesis) == before


def test_out_never_resolves_to_the_working_folder_its_parents_or_the_scenarios_folder(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    scen = scenario_file(proj)
    (proj / "summary.json").write_text("{}")
    (proj / "data").mkdir()
    (proj / "data" / "measurements.csv").write_text("t,x\n0,1\n")
    (proj / "work").mkdir()
    before = tree(proj)
    monkeypatch.chdir(proj / "work")
    for out in ("..", ".", "/"):
        result = run("../scen.yaml", "--out", out)
        assert result.exit_code == 2, result.output
        assert "working folder" in result.output
    monkeypatch.chdir(tmp_path)
    result = run(scen, "--out", proj)
    assert result.exit_code == 2, result.output
    assert tree(proj) == before


def test_a_scenario_named_dot_cannot_make_results_itself_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dot = scenario_file(tmp_path, SHORT.replace("name: balanced", 'name: "."'), "dot.yaml")
    other = scenario_file(tmp_path, name="other.yaml")
    first = run(dot)
    assert first.exit_code == 2, first.output
    assert "is not a folder name" in first.output and "dot.yaml:" in first.output
    assert run(other).exit_code == 0
    kept = tree(tmp_path / "results" / "balanced")
    run(dot)
    assert tree(tmp_path / "results" / "balanced") == kept


@pytest.mark.parametrize("label", ["..", ".", "../x", "a/b", "tab\there", "x" * 101, ".hidden"])
def test_variant_labels_are_single_folder_names(tmp_path, label):
    text = SHORT + f'variants:\n  - {{label: "{label}", set: {{power.rack_budget: "20 kW"}}}}\n'
    result = run(scenario_file(tmp_path, text), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "variants.0.label" in result.output and "not a folder name" in result.output
    assert not (tmp_path / "out").exists()


def test_variant_labels_differing_only_in_case_are_refused(tmp_path):
    text = SHORT + (
        "variants:\n"
        '  - {label: Tight, set: {power.rack_budget: "20 kW"}}\n'
        '  - {label: tight, set: {power.rack_budget: "25 kW"}}\n'
    )
    result = run(scenario_file(tmp_path, text), "--out", tmp_path / "out")
    assert result.exit_code == 2 and "unique (ignoring case)" in result.output


def test_a_4080_character_name_is_a_clean_error(tmp_path):
    text = SHORT.replace("name: balanced", "name: " + "n" * 4080)
    result = run(scenario_file(tmp_path, text), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "not a folder name" in result.output and len(result.output) < 600


def test_out_through_a_symlink_loop_is_a_clean_error(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    result = run(scenario_file(tmp_path / "in"), "--out", tmp_path / "loop" / "res")
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any folder")
def test_out_under_an_unreadable_folder_is_a_clean_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        result = run(scenario_file(tmp_path / "in"), "--out", locked / "sub" / "res")
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)


def test_a_file_in_the_way_fails_before_simulating(tmp_path, no_simulation):
    (tmp_path / "afile").write_text("x")
    result = run(scenario_file(tmp_path / "in"), "--out", tmp_path / "afile" / "res")
    assert result.exit_code == 2, result.output
    assert "afile is not a folder" in result.output
    assert (tmp_path / "afile").read_text() == "x"


def test_a_name_too_long_for_the_file_system_fails_before_simulating(tmp_path, no_simulation):
    result = run(scenario_file(tmp_path / "in"), "--out", tmp_path / ("r" * 250))
    assert result.exit_code == 2, result.output
    assert "longer than this file system allows" in result.output


def test_a_full_disk_fails_before_simulating(tmp_path, monkeypatch, no_simulation):
    real = os.statvfs

    def full(path):
        s = real(path)
        return os.statvfs_result((s.f_bsize, s.f_frsize, s.f_blocks, 0, 0, s.f_files, 0, 0, s.f_flag, 255))

    monkeypatch.setattr(os, "statvfs", full)
    result = run(scenario_file(tmp_path / "in"), "--out", tmp_path / "res")
    assert result.exit_code == 2, result.output
    assert "MB free" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_parents_made_for_a_run_that_fails_are_removed(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gigawatt.engine.Engine, "run", interrupted)
    result = run(scenario_file(tmp_path / "in"), "--out", tmp_path / "a" / "b" / "res")
    assert result.exit_code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_stale_staging_is_cleaned_and_earlier_results_come_back(tmp_path, monkeypatch):
    scen = scenario_file(tmp_path / "in")
    out = tmp_path / "res"
    assert run(scen, "--out", out).exit_code == 0
    earlier = tree(out)
    # What a run killed at each point leaves: a staging folder (here one holding complete results, as after
    # the exchange), and, killed between two plain renames, the earlier results moved aside.
    shutil.copytree(out, tmp_path / ".res.partial-0123abcd")
    out.rename(tmp_path / ".res.old-4567cdef")
    user_folder = tmp_path / ".res.old-mine"  # looks like ours, but has no marker: left alone
    user_folder.mkdir()
    (user_folder / "notes.txt").write_text("mine")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gigawatt.engine.Engine, "run", interrupted)
    assert run(scen, "--out", out).exit_code != 0
    assert tree(out) == earlier  # restored before the (interrupted) simulation
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.old-mine", "in", "res"]
    assert (user_folder / "notes.txt").read_text() == "mine"


def test_a_kill_between_the_two_renames_loses_nothing(tmp_path, monkeypatch):
    """Where names cannot be exchanged atomically, earlier results are moved aside, then the new ones moved
    in; a run killed between the two leaves the earlier results aside, and the next run puts them back."""
    import gigawatt.results_folder as results_folder

    scen = scenario_file(tmp_path / "in")
    out = tmp_path / "res"
    assert run(scen, "--out", out).exit_code == 0
    earlier = tree(out)
    monkeypatch.setattr(results_folder, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def killed_after_first_rename(src, dst):
        if Path(src).name.startswith(".res.partial-"):
            raise KeyboardInterrupt  # the new results never arrive
        real_rename(src, dst)

    monkeypatch.setattr(results_folder.os, "rename", killed_after_first_rename)
    assert run(scen, "--out", out).exit_code != 0
    monkeypatch.setattr(results_folder.os, "rename", real_rename)
    assert not out.exists()
    (aside,) = tmp_path.glob(".res.old-*")
    assert tree(aside) == earlier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gigawatt.engine.Engine, "run", interrupted)
    assert run(scen, "--out", out).exit_code != 0
    assert tree(out) == earlier
    monkeypatch.undo()
    assert run(scen, "--out", out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "res"]


def test_the_exchange_keeps_the_target_complete(tmp_path):
    """Re-running swaps the new results in with one atomic exchange: no moment without a results folder."""
    from gigawatt.results_folder import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not _exchange(a, b):
        pytest.skip("this system cannot exchange two names atomically; the two-rename path is tested above")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"
