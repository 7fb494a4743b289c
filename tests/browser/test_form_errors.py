"""In a real browser: a form that fails says why, in the form; a failure with no form to show it says so in a toast.

htmx 2 does not swap 4xx/5xx responses, so before static/js/htmx-errors.js each of these clicks did nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.test_shell import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_onboarding_a_client_with_a_taken_subdomain_shows_why(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="localhost") + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=new-client-form]")
    page.fill("input[name=name]", "Hartwell again")
    page.fill("input[name=slug]", "hartwell")
    page.click("[data-testid=new-client-submit]")
    error = page.wait_for_selector("[data-testid=error-slug]")
    assert "already exists: pick another" in error.inner_text()
    # The input is marked invalid and tied to its error for screen readers.
    assert page.get_attribute("input[name=slug]", "aria-invalid") == "true"
    assert page.input_value("input[name=name]") == "Hartwell again"  # what was typed is kept
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "form-error-onboarding.png"))


def test_a_client_admin_adding_a_server_folder_is_told_to_upload_instead(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/knowledge/", "alice@hartwell.example")
    page.wait_for_selector("[data-testid=source-form]")
    page.select_option("select[name=kind]", "directory")
    page.fill("#kb-source-form input[name=name]", "Server folder")
    page.fill("input[name=path]", "/etc")
    page.click("[data-testid=source-submit]")
    error = page.wait_for_selector("[data-testid=error-path]")
    assert "Only MSP staff can index a folder on the Gaby server" in error.inner_text()


def test_a_connection_that_is_refused_shows_the_reason_in_the_form(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(
        page, asgi_server.format(host="hartwell.localhost") + "/connectors/new/postgres/", "alice@hartwell.example"
    )
    page.wait_for_selector("[data-testid=connect-form]")
    page.fill("input[name=name]", "Refused db")
    page.fill("input[name=url]", "postgresql://reader:secret@127.0.0.1:1/app")
    page.click("[data-testid=test-connection]")
    shown = page.wait_for_selector("[data-testid=probe-error], [data-testid=form-errors], [data-testid=error-url]")
    assert shown.inner_text().strip()
    assert page.locator("[data-testid=toast]").count() == 0  # shown in the form, not as a toast
    page.screenshot(path=str(SHOTS / "form-error-connector.png"))


def test_a_server_error_without_a_form_to_show_it_becomes_a_toast(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="hartwell.localhost") + "/knowledge/", "alice@hartwell.example")
    page.wait_for_selector("[data-testid=source-form]")
    # The server's answer to the next post is a 500, as an unhandled exception would give.
    page.route("**/knowledge/sources/new/", lambda route: route.fulfill(status=500, body="<h1>Server Error (500)</h1>"))
    page.select_option("select[name=kind]", "git")
    page.fill("#kb-source-form input[name=name]", "Any")
    page.fill("input[name=url]", "https://example.com/repo.git")
    page.click("[data-testid=source-submit]")
    toast = page.wait_for_selector("[data-testid=toast]")
    assert "Gaby hit an error (500)" in toast.inner_text()
    assert page.locator("[data-testid=source-form]").count() == 1  # the form was not replaced by the error page
    page.click("[data-testid=toast] button")
    assert page.locator("[data-testid=toast]").count() == 0


@pytest.fixture(scope="module")
def widget(world: Any, django_db_blocker: Any) -> Iterator[Any]:
    """Committed (module scope, outside the test's transaction) so the server sees it and nothing stays locked."""
    from django_tenants.utils import tenant_context

    from apps.chat.models import Widget
    from apps.chat.widgets import create_widget

    hartwell = world.clients["hartwell"]
    with django_db_blocker.unblock(), tenant_context(hartwell):
        made = create_widget(
            client=hartwell, changes={"name": "Copy me", "allowed_origins": ["https://hartwell.example"]}
        )
    yield made
    with django_db_blocker.unblock(), tenant_context(hartwell):
        Widget.objects.filter(pk=made.pk).delete()


def test_the_widget_snippet_copies_with_one_click(asgi_server: str, page_factory: Any, widget: Any) -> None:
    page = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _sign_in(
        page, asgi_server.format(host="hartwell.localhost") + f"/chat/widgets/{widget.pk}/", "alice@hartwell.example"
    )
    page.click("[data-testid=copy-snippet]")
    page.wait_for_selector("[data-testid=copy-snippet]:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("<script src=") and widget.public_key in copied
