"""The class report in a real browser: Debian's Chromium through Playwright, offline.

The page is opened from disk with every network request refused, so a figure or a style
that needed the network would be missing; the test checks that the figures are drawn (SVG
elements with a size), that the tables are there and readable, and keeps a screenshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from grader.report.render import write_report
from tests.support import ROOT
from tests.support.browser import chromium, needs_chromium

SCREENSHOT = ROOT / "autograded" / "report-browser.png"


@needs_chromium
def test_report_reads_in_chromium(graded, tmp_path: Path):
    from playwright.sync_api import Route

    out = write_report(
        graded, tmp_path / "demo.html", ["demo"], generated=datetime(2026, 1, 20, tzinfo=UTC)
    )
    outside: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})

        def refuse(route: Route) -> None:
            if not route.request.url.startswith("file://"):
                outside.append(route.request.url)
                route.abort()
            else:
                route.continue_()

        page.route("**/*", refuse)
        page.goto(out.as_uri())
        figures = page.locator("figure.plot svg")
        assert figures.count() == 3
        for i in range(3):
            box = figures.nth(i).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 100
        assert page.locator("figure.plot svg path").count() > 30  # bars, boxes, axes
        students = page.locator("#students-demo tbody tr")
        assert students.count() == 6
        assert "not gradable" in page.locator("#attention-demo").inner_text()
        tests = page.locator("#tests-demo tbody tr")
        assert tests.count() == 6
        assert "1 / 3" in tests.first.inner_text()
        assert page.locator("#times-demo tbody tr").count() == 1
        link = page.locator("#students-demo a").first
        assert link.get_attribute("href", timeout=1000).endswith("demo/demo.ipynb")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert outside == []
    assert SCREENSHOT.stat().st_size > 20_000
