"""The operations dashboard in a real browser (Debian's chromium through Playwright): the demo history's hotspot
and route concentration on first open, with evidence and suggested actions, the charts drawn by the vendored
Chart.js, and the filters. The backend alone serves it (no Rasa needed). Writes reports/screenshots/ops-dashboard.png
and ops-dashboard-filtered.png."""
from __future__ import annotations

from pathlib import Path

import pytest

from logistics import db, seed
from logistics.analytics import demo
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import _database, serve

PASSWORD = "ops-demo-2026"
VENDORED = Path(__file__).resolve().parents[2] / "logistics" / "web" / "static" / "vendor" / "chart.umd.js"


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    if not VENDORED.exists():
        pytest.fail(f"{VENDORED} is missing: run scripts/vendor_web.sh (make install does)")
    with _database("sqlite", tmp_path_factory) as engine:
        factory = db.session_factory(engine)
        seed.seed(factory, shipments=200, progress=False)
        report = demo.seed_demo(factory, password=PASSWORD)
        assert report.opened == 2, report
        yield from serve(engine)


def test_the_dashboard_shows_the_hotspot_and_the_route_concentration(backend, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 1400}, locale="zh-CN")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{backend}/agent/ops/")
        assert "/agent/login" in page.url
        page.fill("input[name=username]", "ops")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/agent/ops/")
        page.wait_for_selector("body[data-loaded=true]", timeout=15000)
        assert page.evaluate("typeof Chart") == "function"  # the vendored Chart.js, no CDN
        alerts = page.locator(".alert")
        assert alerts.count() == 2
        spike = page.locator(".alert[data-kind=spike]")
        assert "放柜/驿站未通知" in spike.inner_text() and "杭州市" in spike.inner_text()
        assert "提醒网点完善派件通知" in spike.inner_text() and "快递柜短信提醒" in spike.inner_text()
        assert spike.locator(".bars span").count() == 15 and spike.locator(".examples li").count() >= 1
        concentration = page.locator(".alert[data-kind=concentration]")
        assert "生鲜延误" in concentration.inner_text() and "→" in concentration.inner_text()
        assert "联动物流规划调整路由" in concentration.inner_text()
        # Charts have been drawn (a canvas with pixels), the table has rows.
        for canvas in ("trend-chart", "category-chart", "breakdown-chart"):
            assert page.evaluate(f"Chart.getChart('{canvas}').data.datasets.length") >= 1
        assert page.locator("#breakdown-table tbody tr").count() >= 5
        page.screenshot(path=str(SCREENSHOTS / "ops-dashboard.png"), full_page=True)
        # Filters: by route, fresh delays only, last 7 days.
        page.select_option("#f-since", "7d")
        page.wait_for_function("document.querySelector('#f-category').options.length > 3")
        page.select_option("#f-category", "fresh_delay")
        page.select_option("#f-by", "route")
        page.wait_for_function("document.querySelectorAll('.alert').length === 1 && "
                               "(document.querySelector('#breakdown-table tbody tr') || {}).textContent.includes('→')")
        assert "生鲜延误" in page.locator(".alert").inner_text()
        first = page.locator("#breakdown-table tbody tr").first.inner_text()
        assert "生鲜延误" in first and "→" in first
        page.screenshot(path=str(SCREENSHOTS / "ops-dashboard-filtered.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
