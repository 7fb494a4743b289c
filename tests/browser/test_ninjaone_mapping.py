"""NinjaOne organizations onto clients end to end in Chromium: Mona (MSP staff) opens the page from the portal,
sees the PSA company mappings beside it, enters the NinjaOne API client app (a wrong secret first, said in the
page), lists the organizations (Hartwell and Dearborn suggested, Lakeside Dental matching no client), confirms,
sees a connector per client; a re-run shows what each organization serves. The uvicorn server (another process)
reaches the NinjaOne stand-in of this process over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED
from tests.browser.test_accessibility import _assert_clean
from tests.browser.test_accessibility import axe_script as axe_script  # the fixtures the scanner needs
from tests.browser.test_accessibility import scanner as scanner
from tests.browser.test_shell import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SECRET = "ninja-browser-secret-6262"


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox({**DEMO_SEED, "clients": {"gaby-rmm": SECRET}}) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")  # module scope: its teardown runs outside, and after, the test's transaction
def connectors_removed(world: Any, django_db_blocker: Any) -> Iterator[None]:
    """The journey commits a connector (and its events and audit rows) in two clients; all removed afterwards."""
    from django_tenants.utils import tenant_context

    from apps.connectors.models import Connector, Kind
    from tests.agent.committed import _drop_audit_tail, _last_audit

    clients = [world.clients["hartwell"], world.clients["dearborn"]]
    with django_db_blocker.unblock():
        marks = {client.schema_name: _last_audit(client.schema_name) for client in clients}
    yield
    with django_db_blocker.unblock():
        for client in clients:
            with tenant_context(client):
                Connector.objects.filter(kind=Kind.NINJAONE).delete()
                _drop_audit_tail(client.schema_name, marks[client.schema_name])


@pytest.mark.usefixtures("connectors_removed")
def test_msp_staff_map_ninjaone_organizations_onto_clients(
    asgi_server: str, scanner: Any, ninja: NinjaOneSandbox
) -> None:
    s = scanner()  # axe-core scans the page in each state: the errors, the organizations, the results
    page = s.page
    portal = asgi_server.format(host="localhost")
    _sign_in(page, portal + "/", "mona@bluemesa.example")
    page.click("[data-testid=portal-ninjaone-link]")
    page.wait_for_selector("[data-testid=psa-mappings]")
    s.scan_current()
    page.fill("input[name=url]", ninja.base_url)
    page.fill("input[name=client_id]", "gaby-rmm")
    page.fill("input[name=client_secret]", "not-the-secret")
    page.click("[data-testid=ninjaone-list]")
    page.wait_for_selector("[data-testid=ninjaone-errors]:has-text('Could not list NinjaOne')")
    s.scan_current()

    page.fill("input[name=client_secret]", SECRET)
    page.fill("input[name=allowed_scripts]", "Disk Cleanup")
    page.click("[data-testid=ninjaone-list]")
    page.wait_for_selector("[data-testid=ninjaone-organizations]")
    assert page.input_value("[data-testid=map-1]") == "hartwell"
    assert page.input_value("[data-testid=map-2]") == "dearborn"
    assert page.input_value("[data-testid=map-3]") == ""  # Lakeside Dental: no client matches, not connected
    s.scan_current()
    page.click("[data-testid=ninjaone-connect]")
    page.wait_for_selector("[data-testid=ninjaone-results]", timeout=90000)
    assert page.locator("[data-testid^=result-]").count() == 2
    assert "Hartwell Law (1)" in page.inner_text("[data-testid=result-hartwell]")
    s.scan_current()

    page.click("[data-testid=ninjaone-list]")  # a re-run: both mapped, Lakeside still offered
    page.wait_for_selector("[data-testid=ninjaone-organizations]")
    assert page.locator("[data-testid=organization-mapped]").count() == 2
    assert page.locator("[data-testid=map-3]").count() == 1
    _assert_clean(s)
