"""One plotly.js per results tree, referenced relatively by every report; --self-contained inlines it."""

from __future__ import annotations

import json

from gigawatt.results_folder import MARKER, PLOTLY_FILE

from .runs import short_run


def test_reports_share_one_plotly_js_at_the_root(tmp_path):
    out = short_run("moe-deepseek-v3", tmp_path / "moe")
    scripts = list(out.rglob("*.js"))
    assert scripts == [out / PLOTLY_FILE]
    assert "plotly.js v" in (out / PLOTLY_FILE).read_text()[:200]
    reports = sorted(out.rglob("report.html"))
    assert len(reports) == 2  # the scenario and its variant
    for report in reports:
        page = report.read_text()
        refs = [line for line in page.splitlines() if f'{PLOTLY_FILE}"' in line]
        assert len(refs) == 1
        src = refs[0].split('src="')[1].split('"')[0]
        assert not src.startswith(("/", "http", "file:"))
        assert (report.parent / src).resolve() == (out / PLOTLY_FILE).resolve()
        assert len(page) < 1_000_000  # no inlined copy
    assert PLOTLY_FILE in json.loads((out / MARKER).read_text())["files"]


def test_self_contained_inlines_plotly_js(tmp_path):
    out = short_run("balanced", tmp_path / "balanced", "--self-contained")
    assert not list(out.rglob("*.js"))
    page = (out / "report.html").read_text()
    assert "<script src=" not in page  # nothing referenced (the bundle's own comments may name its file)
    assert page.count("plotly.js v") >= 1 and len(page) > 3_000_000
