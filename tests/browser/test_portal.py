"""In a real browser, the MSP portal's home: the attention queue renders across clients, a filter narrows it (HTMX
swap), a bulk acknowledge works and hides the row, and a row opens the item's page in its client, signed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.browser.test_shell import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")  # module scope: set up before, and outside of, the test's transaction
def attention(world: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Committed items in both clients (the browser's server is another process); removed afterwards."""
    from apps.portal.models import AttentionMark
    from apps.tickets import services
    from apps.tickets.models import Ticket
    from tests.agent.committed import _drop_audit_tail, _last_audit

    made: dict[str, Any] = {}
    marks = {}
    with django_db_blocker.unblock():
        for slug in ("hartwell", "dearborn"):
            client = world.clients[slug]
            marks[slug] = _last_audit(client.schema_name)
            with tenant_context(client):
                source = services.create_source(client=client, kind="webhook", name=f"Portal test {slug}", config={})
                Ticket.objects.create(
                    source=source,
                    external_id=f"portal-{slug}",
                    title=f"Printer down at {slug}",
                    sla_due_at=timezone.now() - timedelta(hours=5),
                )
                services.quarantine(source=source, raw="{broken", error="Invalid JSON at line 1")
                made[slug] = source
    yield made
    with django_db_blocker.unblock():
        AttentionMark.objects.filter(client__slug__in=["hartwell", "dearborn"]).delete()
        for slug, source in made.items():
            client = world.clients[slug]
            with tenant_context(client):
                Ticket.objects.filter(source=source).delete()
                source.delete()
                _drop_audit_tail(client.schema_name, marks[slug])


def _only(page: Any, attribute: str, value: str) -> None:
    """Wait until the swapped-in queue holds only rows whose ``data-<attribute>`` is ``value``."""
    page.wait_for_function(
        "([a, v]) => [...document.querySelectorAll('[data-testid=attention-row]')].every(r => r.dataset[a] === v)",
        arg=[attribute, value],
    )


def test_the_queue_filters_acts_in_bulk_and_opens_a_row_signed_in(
    asgi_server: str, page_factory: Any, attention: Any
) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="localhost") + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=attention-table]")
    rows = page.locator("[data-testid=attention-row]")
    assert rows.filter(has_text="Printer down at hartwell").count() == 1
    assert rows.filter(has_text="Printer down at dearborn").count() == 1
    assert page.locator("[data-testid=attention-row][data-kind=quarantine]").count() >= 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-attention.png"), full_page=True)

    page.select_option("[data-testid=filter-kind]", "sla")  # HTMX swaps the queue in place
    _only(page, "kind", "sla")
    assert "kind=sla" in page.url  # the filtered view has its own address
    page.select_option("[data-testid=filter-client]", "hartwell")
    _only(page, "client", "hartwell")

    page.locator("[data-testid=attention-row]", has_text="Printer down at hartwell").locator(
        "[data-testid=attention-select]"
    ).check()
    page.click("[data-testid=bulk-acknowledge]")
    page.wait_for_selector("text=Acknowledged 1 item.")
    assert page.locator("[data-testid=attention-row]", has_text="Printer down at hartwell").count() == 0

    page.select_option("[data-testid=filter-client]", "dearborn")
    page.select_option("[data-testid=filter-kind]", "quarantine")
    _only(page, "client", "dearborn")
    page.locator("[data-testid=attention-row]", has_text="Portal test dearborn").first.locator(
        "[data-testid=attention-open]"
    ).click()
    page.wait_for_url("**dearborn.localhost**/inbox/quarantine/**")
    assert page.inner_text("[data-testid=page-title]") == "Quarantine"  # signed in, no second sign-in
    assert "Invalid JSON at line 1" in page.inner_text("main")
