"""In a real browser: a site on another origin embeds the widget; a visitor gets a cited knowledge answer, asks
for a person; an operator in a second browser context watches in shadow mode, takes over and replies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.browser.test_shell import SHOTS, _sign_in
from tests.chat.conftest import ChatWorld, clear_conversations
from tests.chat.conftest import chat_world as chat_world  # the committed widgets and runbooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


class HostSite:
    """A customer's website on its own origin (127.0.0.1:<port>), whose page embeds Gaby's widget."""

    def __init__(self) -> None:
        self.html = b""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(outer.html)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def embed(self, script_src: str, key: str) -> None:
        self.html = (
            "<!doctype html><html><head><title>Hartwell Law</title>"
            "<style>* { color: red !important; font-size: 40px !important }</style></head>"  # hostile host CSS
            "<body><h1>Hartwell Law</h1>"
            f'<script src="{script_src}" data-gaby-key="{key}" async></script></body></html>'
        ).encode()


@pytest.fixture(scope="module")
def host_site(chat_world: ChatWorld, world: Any, django_db_blocker: Any) -> Iterator[tuple[HostSite, str]]:
    from apps.chat.models import Widget
    from apps.chat.widgets import create_widget

    site = HostSite()
    hartwell = world.clients["hartwell"]
    with django_db_blocker.unblock(), tenant_context(hartwell):
        widget = create_widget(
            client=hartwell,
            changes={"name": "Browser site", "allowed_origins": [site.origin], "persona_name": "Hartwell Helper"},
        )
    yield site, widget.public_key
    site.server.shutdown()
    with django_db_blocker.unblock():
        clear_conversations(hartwell)
        with tenant_context(hartwell):
            Widget.objects.filter(pk=widget.pk).delete()


def _widget_text(page: Any, selector: str) -> str:
    return str(page.locator(selector).last.inner_text())


def test_visitor_gets_a_cited_answer_asks_for_a_person_and_the_operator_takes_over(
    asgi_server: str, page_factory: Any, host_site: tuple[HostSite, str]
) -> None:
    site, key = host_site
    gaby = asgi_server.format(host="hartwell.localhost")
    site.embed(gaby + "/widget.js", key)

    operator = page_factory()
    _sign_in(operator, gaby + "/chat/", "bob@hartwell.example")
    operator.wait_for_selector("[data-testid=chat-console]", state="attached")
    operator.wait_for_selector("[data-testid=live-status][data-state=open]")
    inbox = page_factory()  # the same operator's unified inbox, in another tab
    _sign_in(inbox, gaby + "/inbox/", "bob@hartwell.example")
    inbox.wait_for_selector("[data-testid=live-status][data-state=open]")

    visitor = page_factory()
    visitor.goto(site.origin + "/")
    visitor.click("[data-testid=gaby-launch]")
    visitor.wait_for_selector("[data-testid=gaby-persona]:has-text('Hartwell Helper')")
    # The host's hostile CSS does not reach into the shadow DOM.
    assert visitor.eval_on_selector("[data-testid=gaby-send]", "e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    assert visitor.get_attribute("[data-testid=gaby-log]", "aria-live") == "polite"

    # The new conversation appears live on the operator's console; the operator opens it (shadow mode).
    operator.wait_for_selector("[data-testid=chat-row]")
    operator.click("[data-testid=open-conversation]")
    operator.wait_for_selector("[data-testid=shadow-status][data-state=live]")

    visitor.fill("[data-testid=gaby-input]", "How do I reset a user's VPN password?")
    visitor.keyboard.press("Enter")
    visitor.wait_for_selector("[data-testid=gaby-citations]", timeout=120000)
    answer = _widget_text(visitor, "[data-testid=gaby-msg-gaby]")
    assert "Reset credentials" in answer and "VPN runbook" in answer
    # The operator saw the question and Gaby's answer arrive without reloading.
    operator.wait_for_selector("[data-testid=chat-msg-gaby]:has-text('Reset credentials')")
    assert "VPN password" in _widget_text(operator, "[data-testid=chat-msg-visitor]")
    # The conversation appeared in the unified inbox, beside the tickets, without a reload.
    inbox.wait_for_selector("[data-testid=chat-inbox-row]:has-text('found in VPN runbook')")

    visitor.fill("[data-testid=gaby-input]", "Can I talk to a person?")
    visitor.click("[data-testid=gaby-send]")
    visitor.wait_for_selector("[data-testid=gaby-msg-system]:has-text('asked a person')")
    operator.wait_for_selector("[data-testid=chat-controls][data-state=waiting]")
    inbox.wait_for_selector("[data-testid=handoff-toast]:has-text('asks for a person')")
    inbox.wait_for_selector("[data-testid=chat-inbox-row][data-state=waiting]")
    operator.click("[data-testid=take-over]")
    operator.wait_for_selector("[data-testid=reply-form]")
    visitor.wait_for_selector("[data-testid=gaby-msg-system]:has-text('joined the chat')")
    operator.fill("[data-testid=reply-body]", "Hi, Bob here: I've reset your VPN password.")
    operator.click("[data-testid=reply-submit]")
    visitor.wait_for_selector("[data-testid=gaby-msg-operator]:has-text('Bob here')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=str(SHOTS / "chat-widget.png"))
    operator.screenshot(path=str(SHOTS / "chat-operator.png"))
    inbox.screenshot(path=str(SHOTS / "chat-inbox.png"))

    # A reload resumes the conversation from the server.
    visitor.reload()
    visitor.wait_for_selector("[data-testid=gaby-msg-operator]:has-text('Bob here')", state="attached")
    visitor.click("[data-testid=gaby-launch]")
    assert "VPN runbook" in _widget_text(visitor, "[data-testid=gaby-msg-gaby]")


def test_the_widget_on_a_disallowed_origin_is_refused(
    asgi_server: str, page_factory: Any, chat_world: ChatWorld
) -> None:
    site = HostSite()  # not on the Hartwell site widget's allowlist
    site.embed(asgi_server.format(host="hartwell.localhost") + "/widget.js", chat_world.hartwell_key)
    page = page_factory()
    page.goto(site.origin + "/")
    page.click("[data-testid=gaby-launch]")
    page.wait_for_selector(f"[data-testid=gaby-status]:has-text('This chat is not enabled on {site.origin}')")
    site.server.shutdown()
