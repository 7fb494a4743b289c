"""In Chromium: MSP staff onboard a client with the Dental office template from the portal, in one step, then find it
on the template's page with the version it got (MSP-8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.agent.committed import _drop_audit_tail, _last_audit
from tests.browser.test_shell import SHOTS, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SLUG = "wrendental"


@pytest.fixture(scope="module")  # module scope: its teardown runs outside, and after, the test's transaction
def onboarded_client_removed(world: Any, django_db_blocker: Any) -> Iterator[None]:
    """The journey commits a client (its schema too) and install audit events; all are removed afterwards."""
    from tenants.models import Client

    with django_db_blocker.unblock():
        mark = _last_audit("public")
    yield
    with django_db_blocker.unblock():
        for client in Client.objects.filter(slug=SLUG):
            client.delete(force_drop=True)
        _drop_audit_tail("public", mark)


def test_msp_staff_onboard_a_client_with_a_template_from_the_portal(
    asgi_server: str, page_factory: Any, onboarded_client_removed: None
) -> None:
    from django_tenants.utils import tenant_context

    from apps.agent.playbooks.library import catalog
    from tenants.models import Client

    page = page_factory()
    portal = asgi_server.format(host="localhost")
    _sign_in(page, portal + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=new-client-form]")
    page.fill("input[name=name]", "Wren Family Dental")
    page.fill("input[name=slug]", SLUG)
    page.select_option("select[name=template]", "dental-office")
    page.click("[data-testid=new-client-submit]")
    message = page.wait_for_selector("[data-testid=messages] >> text=Dental office template v1 applied", timeout=60_000)
    assert "setting" in message.inner_text()
    assert page.locator(f"[data-testid=client-{SLUG}]").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "onboarding-template-applied.png"))

    client = Client.objects.get(slug=SLUG)
    assert (client.compliance_profile, client.autonomy, client.approval_threshold) == ("hipaa", "investigate", 30)
    with tenant_context(client):
        assert {p.name for p in catalog().active} == {
            "m365-sign-in-help",
            "ninjaone-print-spooler",
            "intune-device-sync",
        }

    page.click("[data-testid=portal-templates-link]")
    page.click("[data-testid=template-dental-office] a")
    row = page.wait_for_selector(f"[data-testid=template-client-{SLUG}]")
    assert "v1" in row.inner_text() and "up to date" in row.inner_text()
    page.click("[data-testid=version-1] a")
    page.wait_for_selector("[data-testid=version-diff]")
    assert "compliance_profile: hipaa" in page.inner_text("[data-testid=version-yaml]")
    page.screenshot(path=str(SHOTS / "onboarding-template-version.png"))
