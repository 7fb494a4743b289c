"""Microsoft 365 partner connect end to end in Chromium: Mona (MSP staff) signs in on the portal, opens the partner
page, enters the stand-in partner tenant's app credentials, lists the customers (Hartwell and Dearborn suggested,
Quillfield matching no client), confirms, sees a connector created per client; then Hartwell's Connectors page
shows it. The uvicorn server (another process) reaches the Graph stand-in of this process over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEARBORN, HARTWELL
from sandbox.msgraph_partner import BLUE_MESA, PARTNER_APP_ID, PARTNER_SECRET, QUILLFIELD
from tests.browser.test_accessibility import _assert_clean
from tests.browser.test_accessibility import axe_script as axe_script  # the fixtures the scanner needs
from tests.browser.test_accessibility import scanner as scanner
from tests.browser.test_shell import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")  # module scope: its teardown runs outside, and after, the test's transaction
def connectors_removed(world: Any, django_db_blocker: Any) -> Iterator[None]:
    """The journey commits a connector (and its events and audit rows) in two clients; all removed afterwards."""
    from django_tenants.utils import tenant_context

    from apps.accounts.models import PartnerConnection
    from apps.connectors.models import Connector, Kind
    from tests.agent.committed import _drop_audit_tail, _last_audit

    clients = [world.clients["hartwell"], world.clients["dearborn"]]
    with django_db_blocker.unblock():
        marks = {client.schema_name: _last_audit(client.schema_name) for client in clients}
        public_mark = _last_audit("public")
    yield
    with django_db_blocker.unblock():
        PartnerConnection.objects.all().delete()  # the listing keeps the partner connection (public schema)
        _drop_audit_tail("public", public_mark)
        for client in clients:
            with tenant_context(client):
                Connector.objects.filter(kind=Kind.MICROSOFT365).delete()
                _drop_audit_tail(client.schema_name, marks[client.schema_name])


@pytest.mark.usefixtures("connectors_removed")
def test_msp_staff_connect_every_clients_tenant_as_a_partner(
    asgi_server: str, scanner: Any, graph: GraphSandbox
) -> None:
    s = scanner()  # axe-core scans the page in each state: the errors, the customers, the results
    page = s.page
    portal = asgi_server.format(host="localhost")
    _sign_in(page, portal + "/", "mona@bluemesa.example")
    page.wait_for_selector("[data-testid=client-list]")
    page.goto(portal + "/partners/microsoft365/")
    page.fill("input[name=tenant_id]", BLUE_MESA)
    page.fill("input[name=client_id]", PARTNER_APP_ID)
    page.fill("input[name=client_secret]", "not-the-secret")
    page.click("[data-testid=m365-partner-advanced] summary")
    page.fill("input[name=authority]", graph.base_url)
    page.fill("input[name=graph_url]", graph.base_url)
    page.fill("input[name=ca_file]", graph.ca_file)
    page.click("[data-testid=m365-partner-list]")
    page.wait_for_selector("[data-testid=m365-partner-errors]:has-text('AADSTS7000215')")  # a wrong secret, said
    s.scan_current()

    page.fill("input[name=client_secret]", PARTNER_SECRET)
    page.click("[data-testid=m365-partner-list]")
    page.wait_for_selector("[data-testid=m365-partner-customers]")
    assert page.input_value(f"[data-testid=map-{HARTWELL}]") == "hartwell"
    assert page.input_value(f"[data-testid=map-{DEARBORN}]") == "dearborn"
    assert page.input_value(f"[data-testid=map-{QUILLFIELD}]") == ""  # no client matches: not connected
    s.scan_current()
    page.click("[data-testid=m365-partner-connect]")
    page.wait_for_selector("[data-testid=m365-partner-results]", timeout=90000)
    assert page.get_attribute("[data-testid=result-hartwell]", "data-status") == "created"
    assert page.get_attribute("[data-testid=result-dearborn]", "data-status") == "created"
    assert page.locator("[data-testid^=result-]").count() == 2
    s.scan_current()
    into_hartwell = page.get_attribute("[data-testid=open-hartwell]", "href")
    assert into_hartwell

    page.click("[data-testid=m365-partner-list]")  # a re-run: both connected, Quillfield still new
    page.wait_for_selector("[data-testid=m365-partner-customers]")
    assert page.locator("[data-testid=customer-connected]").count() == 2
    assert page.locator(f"[data-testid=map-{QUILLFIELD}]").count() == 1

    page.goto(portal + into_hartwell if into_hartwell.startswith("/") else into_hartwell)  # into the client
    page.wait_for_selector("[data-testid=sidebar]")
    page.goto(asgi_server.format(host="hartwell.localhost") + "/connectors/")
    page.wait_for_selector("[data-testid=connector-microsoft-365]")
    assert "Microsoft 365" in page.inner_text("[data-testid=connector-list]")
    _assert_clean(s)
