"""The examples' reports in a real browser (headless Chromium): no console errors, nothing fetched but
the page and its shared plotly.js from disk, and every chart drawn with data."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import Chromium, leaves_disk, why_unavailable
from .runs import SHORT, short_run

pytestmark = pytest.mark.skipif(why_unavailable() is not None, reason=why_unavailable() or "")


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("reports")
    return {name: sorted(short_run(name, root / name).rglob("report.html")) for name in SHORT}


@pytest.mark.parametrize("name", sorted(SHORT))
def test_report_draws_every_chart_in_chromium(browser, reports, name):
    for report in reports[name]:
        page = browser.load(report)
        assert page.console_errors == [], f"{report}: {page.console_errors}"
        assert not [url for url in page.requests if leaves_disk(url)], page.requests
        assert any(url.endswith("/plotly.min.js") for url in page.requests), page.requests
        assert len(page.charts) >= 4, page.charts
        for chart in page.charts:
            assert chart["drawn"] > 0, f"{report} {chart['id']}: not rendered"
            assert chart["traces"] > 0 and chart["with_points"] > 0, f"{report} {chart['id']}: no data"
            assert chart["paths"] > 0, f"{report} {chart['id']}: no SVG marks drawn"
            assert chart["empty_axes"] == [], f"{report} {chart['id']}: panels with no data"
