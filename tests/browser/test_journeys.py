"""Journeys in Chromium, each ending in a screenshot for the operator-experience report: the support agent works
a ticket from the inbox through Gaby's panel, the founder sets a new client up, the MSP owner sees every client.
(The failed-form walks are in test_form_errors.py; the chat visitor's in test_chat.py; axe in test_accessibility.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.scenery import Scenery
from tests.browser.scenery import customer_site as customer_site  # the module fixtures scenery needs
from tests.browser.scenery import scenery as scenery
from tests.browser.test_shell import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_agent_reads_gabys_verdict_in_the_inbox_and_sends_its_draft(
    asgi_server: str, page_factory: Any, scenery: Scenery
) -> None:
    page = page_factory()
    base = asgi_server.format(host="hartwell.localhost")
    _sign_in(page, base + "/inbox/?status=", "bob@hartwell.example")
    row = page.locator(f"#ticket-{scenery.ticket.pk}")
    assert row.locator("[data-testid=gaby-cell]").inner_text() == "Resolved by Gaby"
    _shot(page, "journey-agent-inbox")
    row.locator("[data-testid=ticket-link]").click()
    page.wait_for_selector("[data-testid=gaby-panel]")
    assert "Resolved by Gaby" in page.inner_text("[data-testid=gaby-verdict]")
    page.fill("[data-testid=gaby-draft]", "Raise the DHCP lease to 24 hours on the firewall; it stops the drops.")
    _shot(page, "journey-agent-ticket")
    page.click("[data-testid=gaby-use-reply]")
    page.wait_for_selector("[data-testid=message-body]:has-text('it stops the drops')")
    assert page.locator("[data-testid=gaby-draft]").count() == 0  # the draft was used: no second send
    assert "Reply sent to the customer." in page.inner_text("[data-testid=messages]")


@pytest.fixture
def dearborn_choices_restored(world: Any, django_db_blocker: Any) -> Iterator[None]:
    """The journey commits Dearborn's setup choice and its audit event; both are removed afterwards."""
    from django_tenants.utils import tenant_context

    from apps.onboarding.models import SetupChoices
    from tests.agent.committed import _drop_audit_tail, _last_audit

    dearborn = world.clients["dearborn"]
    with django_db_blocker.unblock():
        mark = _last_audit(dearborn.schema_name)
    yield
    with django_db_blocker.unblock(), tenant_context(dearborn):
        SetupChoices.objects.all().delete()
        _drop_audit_tail(dearborn.schema_name, mark)


@pytest.mark.usefixtures("dearborn_choices_restored")
def test_the_founder_keeps_no_llm_mode_from_the_checklist(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="dearborn.localhost") + "/setup/", "carol@dearborn.example")
    step = "[data-testid=setup-step-model]"
    page.wait_for_selector(step)
    assert page.get_attribute(step, "data-done") == "false"
    page.click("[data-testid=setup-confirm-model]")
    page.wait_for_selector(f"{step}[data-done=true]")  # swapped in place, no reload
    assert "No LLM, by choice" in page.inner_text(step)
    _shot(page, "journey-founder-setup")
    page.click("[data-testid=nav-dashboard]")
    page.wait_for_selector("[data-testid=volume-chart] svg")
    _shot(page, "journey-founder-dashboard")


def test_the_msp_owner_sees_every_client_and_moves_into_one(asgi_server: str, page_factory: Any) -> None:
    page = page_factory()
    _sign_in(page, asgi_server.format(host="localhost") + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=client-list]")
    _shot(page, "journey-msp-portal")
    page.click("[data-testid=client-hartwell]")
    page.wait_for_selector("[data-testid=sidebar]")
    page.click("[data-testid=nav-settings]")
    page.wait_for_selector("[data-testid=settings-map]")
    _shot(page, "journey-msp-settings")
