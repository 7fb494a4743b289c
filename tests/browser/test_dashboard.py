"""In a real browser: the dashboard's charts are drawn (SVG with a size, bars with tooltips) under the CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_shell import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_the_dashboard_draws_its_charts(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/dashboard/", "bob@hartwell.example")
    page.wait_for_selector("[data-testid=volume-chart] svg")
    box = page.locator("[data-testid=volume-chart] svg").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80
    assert page.locator("[data-testid=volume-chart] svg").get_attribute("role") == "img"
    page.click("[data-testid=window-7]")
    page.wait_for_url("**/dashboard/?days=7")
    assert page.locator("[data-testid=daily-table] tbody tr").count() == 7
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
