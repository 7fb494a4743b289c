"""The portal page /partners/microsoft365/: MSP staff only, CSRF-protected, lists then connects through the real
stand-in (the whole flow in Chromium is tests/browser/test_m365_partner.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import schema_context, tenant_context

from apps.connectors.models import Connector, Kind
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEARBORN, HARTWELL
from sandbox.msgraph_partner import PARTNER_SECRET, QUILLFIELD, partner_connection
from tests.connectors.vendors import close_sessions  # noqa: F401 (autouse: servers end with each test)

pytestmark = pytest.mark.django_db
PAGE = "/partners/microsoft365/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


def _form(graph: GraphSandbox, **changes: str) -> dict[str, str]:
    return partner_connection(graph) | changes


def test_only_msp_staff_reach_it(as_user: Any) -> None:
    page = as_user("mona", "public").get(PAGE)
    assert page.status_code == 200 and b'data-testid="m365-partner-form"' in page.content
    assert as_user("alice", "public").get(PAGE).status_code == 403  # a client's Admin, not MSP staff
    assert 'data-testid="portal-m365-partner-link"' in as_user("mona", "public").get("/").content.decode()
    assert 'data-testid="portal-m365-partner-link"' not in as_user("alice", "public").get("/").content.decode()
    assert as_user("alice", "public").post(PAGE + "customers/", {}).status_code == 403
    assert as_user("mona", "hartwell").get(PAGE).status_code == 404  # the portal's page, not a client's
    anonymous = as_user(None, "public").get(PAGE)
    assert anonymous.status_code in (302, 403)


def test_a_post_without_the_csrf_token_is_refused(world: Any, graph: GraphSandbox) -> None:
    browser = HttpClient(HTTP_HOST="localhost", enforce_csrf_checks=True)
    browser.force_login(world.people["mona"], backend="django.contrib.auth.backends.ModelBackend")
    assert browser.post(PAGE + "customers/", _form(graph)).status_code == 403


def test_it_lists_then_connects_the_chosen_clients(
    as_user: Any, graph: GraphSandbox, hartwell: Any, dearborn: Any
) -> None:
    mona = as_user("mona", "public")
    listed = mona.post(PAGE + "customers/", _form(graph), **HTMX)
    assert listed.status_code == 200
    text = listed.content.decode()
    assert f'data-testid="customer-{QUILLFIELD}"' in text and "new; no client matches" in text
    assert PARTNER_SECRET not in text  # the secret is never rendered back
    # GDAP: each customer's roles are shown, and Dearborn's relationship lacking Intune Administrator is flagged
    assert "User Administrator" in text and text.count('data-testid="customer-missing-role"') == 1
    assert "Missing Intune Administrator: technicians cannot sync, restart, retire or wipe managed devices" in text
    chosen = _form(graph) | {f"map-{HARTWELL}": "hartwell", f"map-{DEARBORN}": "dearborn", f"map-{QUILLFIELD}": ""}
    done = mona.post(PAGE + "connect/", chosen, **HTMX)
    assert done.status_code == 200
    text = done.content.decode()
    assert 'data-testid="result-hartwell" data-status="created"' in text
    assert 'data-testid="result-dearborn" data-status="created"' in text
    for client in (hartwell, dearborn):
        with tenant_context(client):
            assert Connector.objects.filter(kind=Kind.MICROSOFT365).count() == 1
    again = mona.post(PAGE + "customers/", _form(graph), **HTMX).content.decode()
    assert again.count('data-testid="customer-connected"') == 2


def test_bad_input_is_said_in_the_page(as_user: Any, graph: GraphSandbox) -> None:
    mona = as_user("mona", "public")
    missing = mona.post(PAGE + "customers/", _form(graph, client_secret=""), **HTMX)  # nothing kept yet
    assert missing.status_code == 400 and b"Give the client secret: no partner connection" in missing.content
    wrong = mona.post(PAGE + "customers/", _form(graph, client_secret="wrong"), **HTMX)
    assert wrong.status_code == 400 and b"AADSTS7000215" in wrong.content
    nothing = mona.post(PAGE + "connect/", _form(graph), **HTMX)
    assert nothing.status_code == 400 and b"Choose a client for at least one customer tenant" in nothing.content


def test_a_listing_keeps_the_partner_connection_and_a_rerun_says_what_changed(
    as_user: Any, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    from apps.accounts.models import PartnerConnection
    from apps.auditlog.models import AuditEvent
    from sandbox.msgraph_partner import BLUE_MESA

    mona = as_user("mona", "public")
    first = mona.post(PAGE + "customers/", _form(graph), **HTMX).content.decode()
    assert "First listing with this partner connection" in first
    kept = PartnerConnection.objects.get()
    assert (kept.tenant_id, kept.last_listed_by) == (BLUE_MESA, people["mona"]) and len(kept.listed) == 3
    assert PARTNER_SECRET not in kept.sealed_secret and kept.sealed_secret.startswith("gi1:")  # sealed
    assert kept.endpoints["graph_url"] == graph.base_url
    page = mona.get(PAGE).content.decode()
    assert 'data-testid="m365-partner-kept"' in page and BLUE_MESA in page and PARTNER_SECRET not in page
    # The GDAP relationship with Dearborn ends; the re-run gives no secret: the kept one is used.
    graph.tenant(BLUE_MESA).customers.remove(DEARBORN)
    again = mona.post(PAGE + "customers/", _form(graph, client_secret=""), **HTMX)
    assert again.status_code == 200, again.content
    text = again.content.decode()
    assert "Since the last listing" in text and "no longer listed Dearborn CPA" in text
    assert "no new customer" in text and len(PartnerConnection.objects.get().listed) == 2
    with schema_context("public"):
        events = list(AuditEvent.objects.filter(event="connectors.m365_partner_listed").order_by("occurred_at"))
    assert [e.payload["gone"] for e in events] == [[], ["Dearborn CPA"]]
