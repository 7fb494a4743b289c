"""In a real browser: the shell applies live swaps whose target is on the page and passes over the others.

Every page of a client hears every live event (a new message for a ticket page reaches the inbox too),
so an event aimed at an element this page does not have must not raise.
"""

import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core.channels import tenant_group
from tests.browser.test_shell import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _broadcast(schema: str, *payloads: dict[str, Any]) -> None:
    """Send as the server does; in a thread of its own, because Playwright's loop runs in this one."""

    def send() -> None:
        layer = get_channel_layer()
        for payload in payloads:
            async_to_sync(layer.group_send)(tenant_group(schema, "live"), {"type": "live.event", "payload": payload})

    thread = threading.Thread(target=send)
    thread.start()
    thread.join(timeout=10)


def test_a_swap_for_an_element_not_on_the_page_is_passed_over(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/", "alice@hartwell.example")
    page.wait_for_selector("[data-testid=live-status][data-state=open]")
    page.evaluate(
        "window.liveSwaps = []; document.body.addEventListener('gaby:live',"
        " e => { if (e.detail.type === 'swap') liveSwaps.push(e.detail.target); });"
    )
    absent = "#thread-0190f7a2-0000-7000-8000-000000000000"  # a ticket page's thread: not on the inbox
    badge = '<a id="quarantine-badge">Quarantine <span data-testid="quarantine-count">3</span></a>'
    _broadcast(
        "hartwell",
        {"type": "swap", "target": absent, "swap": "beforeend", "html": "<li>x</li>"},
        {"type": "swap", "target": "#quarantine-badge", "swap": "outerHTML", "html": badge},
    )
    page.wait_for_selector("[data-testid=quarantine-count]")
    assert page.inner_text("[data-testid=quarantine-count]") == "3"
    page.wait_for_function("window.liveSwaps.length === 2")
    assert errors == []
