"""In a real browser: sign in at a client subdomain, see the operator shell, and be kept out of others."""

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _sign_in(page: Any, url: str, email: str) -> None:
    page.goto(url)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_alice_signs_in_at_hartwell_and_sees_the_shell(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/", "alice@hartwell.example")
    page.wait_for_selector("[data-testid=sidebar]")
    assert page.url.endswith("/inbox/")
    assert page.inner_text("[data-testid=page-title]") == "Inbox"
    labels = page.locator("[data-testid=sidebar] nav a").all_inner_texts()
    assert labels == [
        "Dashboard",
        "Inbox",
        "Investigations",
        "Playbooks",
        "Knowledge",
        "Connectors",
        "Approvals",
        "Models",
        "Chat",
        "Settings",
    ]
    # The founder persona's indigo accent, from the CSS variables.
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    assert page.evaluate("document.documentElement.dataset.persona") == "founder" and accent
    # The live channel (tenant-aware websocket) connects.
    page.wait_for_selector("[data-testid=live-status][data-state=open]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "shell-alice.png"))
    page.click("[data-testid=nav-settings]")
    page.wait_for_selector("[data-testid=members]")
    assert "alice@hartwell.example" in page.inner_text("[data-testid=members]")


def test_carol_cannot_reach_hartwell(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/", "carol@dearborn.example")
    page.wait_for_selector("[data-testid=forbidden]")
    assert "You are not a member of Hartwell Law" in page.inner_text("[data-testid=forbidden]")
    response = page.goto(asgi_server.format(host="hartwell.localhost") + "/settings/")
    assert response.status == 403


def test_mona_moves_between_clients_with_one_sign_in(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="localhost") + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=client-list]")
    page.click("[data-testid=client-dearborn]")
    page.wait_for_selector("[data-testid=sidebar]")  # no second sign-in: the session spans subdomains
    assert page.url.startswith(asgi_server.format(host="dearborn.localhost"))
    page.click("[data-testid=client-switcher-toggle]")
    page.click("[data-testid=switch-hartwell]")
    page.wait_for_selector("[data-testid=page-title]")
    assert page.url.startswith(asgi_server.format(host="hartwell.localhost"))
    page.screenshot(path=str(SHOTS / "shell-mona.png"))


def test_on_a_phone_the_nav_folds_behind_menu_and_the_inbox_is_cards(asgi_server: str, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15000)
    try:
        page = context.new_page()
        _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/", "bob@hartwell.example")
        page.wait_for_selector("[data-testid=page-title]")
        assert not page.is_visible("#main-nav") and page.is_visible("[data-testid=nav-toggle]")
        page.click("[data-testid=nav-toggle]")
        assert page.is_visible("[data-testid=nav-inbox]")
        assert page.get_attribute("[data-testid=nav-toggle]", "aria-expanded") == "true"
        assert page.evaluate("getComputedStyle(document.querySelector('table.inbox thead')).display") == "none"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        page.screenshot(path=str(SHOTS / "shell-phone.png"), full_page=True)
    finally:
        context.close()
