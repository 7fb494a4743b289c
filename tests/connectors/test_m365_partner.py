"""Microsoft 365 partner (GDAP) connect: the Graph stand-in over HTTPS (a partner tenant with three customers) →
the real msgraph-sdk and azure-identity → one ordinary connector per mapped client (its MCP server started and
its tools listed), with the consent event naming the partner connection and who confirmed (GOV-5)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from apps.connectors import m365_partner
from apps.connectors.models import Connector, ConnectorEvent, EventKind, Kind
from apps.onboarding.client_domains import client_domains
from apps.tickets.models import Contact
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEARBORN, HARTWELL
from sandbox.msgraph_partner import BLUE_MESA, PARTNER_APP_ID, QUILLFIELD, partner_connection
from tests.connectors.vendors import close_sessions  # noqa: F401 (autouse: servers end with each test)

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:  # the demo seed with the partner tenant
        yield sandbox


def _given(graph: GraphSandbox, **changes: str) -> dict[str, str]:
    return partner_connection(graph) | changes


def _partner(graph: GraphSandbox, **changes: str) -> m365_partner.Partner:
    return m365_partner.partner_from(_given(graph, **changes))


def _domains(*clients: Any) -> dict[Any, set[str]]:
    return client_domains(clients)


def _m365(client: Any) -> list[Connector]:
    with tenant_context(client):
        return list(Connector.objects.filter(kind=Kind.MICROSOFT365))


def test_it_lists_the_customers_with_domains_and_suggests_clients(
    graph: GraphSandbox, hartwell: Any, dearborn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_context(hartwell):  # Hartwell's tickets came from hartwelllaw.com: its verified domain
        Contact.objects.create(email="jane.doe@hartwelllaw.com", name="Jane Doe")
    monkeypatch.setattr(m365_partner, "PAGE_SIZE", 2)  # three customers: two pages, following @odata.nextLink
    graph.fail_next(429, path="/v1.0/tenantRelationships", headers={"Retry-After": "1"})  # the SDK waits, retries
    found = m365_partner.listing(_partner(graph), client_domains=_domains(hartwell, dearborn))
    by_tenant = {row.customer.tenant_id: row for row in found.rows}
    assert [row.customer.name for row in found.rows] == ["Dearborn CPA", "Hartwell Law", "Quillfield Dental"]
    assert by_tenant[HARTWELL].customer.domains == ("hartwelllaw.com", "hartwelllaw.onmicrosoft.com")
    assert by_tenant[HARTWELL].suggestion == hartwell and by_tenant[HARTWELL].because == "domain hartwelllaw.com"
    assert by_tenant[DEARBORN].suggestion == dearborn and by_tenant[DEARBORN].because == "name"
    assert by_tenant[QUILLFIELD].suggestion is None and not by_tenant[QUILLFIELD].customer.problem
    assert len(found.new) == 3 and found.vanished == []
    listed = graph.calls("GET", "/v1.0/tenantRelationships/delegatedAdminCustomers")
    assert [c.status for c in listed] == [429, 200, 200] and "$skiptoken" in listed[-1].query
    assert graph.calls("GET", "/v1.0/contracts") and len(graph.calls("GET", "/v1.0/domains")) == 3


def test_gdap_roles_are_read_per_customer_and_a_missing_one_is_named(graph: GraphSandbox, hartwell: Any) -> None:
    found = {c.tenant_id: c for c in m365_partner.customers(_partner(graph))}
    assert {"User Administrator", "Authentication Administrator", "Intune Administrator"} <= set(
        found[HARTWELL].roles or ()
    )
    assert found[HARTWELL].missing_roles == []
    assert "Intune Administrator" not in (found[DEARBORN].roles or ("not read",))
    assert found[DEARBORN].missing_roles == ["Intune Administrator"]
    read = graph.calls("GET", "/v1.0/tenantRelationships/delegatedAdminRelationships")
    assert [c.status for c in read] == [200]
    # A relationship that grants no role leaves every tool without one.
    graph.tenant(BLUE_MESA).gdap_roles[HARTWELL] = []
    again = {c.tenant_id: c for c in m365_partner.customers(_partner(graph))}
    assert again[HARTWELL].roles == () and len(again[HARTWELL].missing_roles) == 3


def test_unreadable_gdap_roles_do_not_stop_the_listing(graph: GraphSandbox) -> None:
    graph.fail_next(403, path="/v1.0/tenantRelationships/delegatedAdminRelationships")
    found = m365_partner.customers(_partner(graph))
    assert len(found) == 3 and all(c.roles is None and c.missing_roles == [] for c in found)


def test_two_clients_claiming_one_domain_get_no_suggestion(graph: GraphSandbox, hartwell: Any, dearborn: Any) -> None:
    for client in (hartwell, dearborn):
        with tenant_context(client):
            Contact.objects.create(email="someone@hartwelllaw.com")
    found = m365_partner.listing(_partner(graph), client_domains=_domains(hartwell, dearborn))
    row = next(r for r in found.rows if r.customer.tenant_id == HARTWELL)
    assert row.suggestion is None


def test_connect_creates_one_connector_per_client_and_never_twice(
    graph: GraphSandbox, hartwell: Any, dearborn: Any, people: dict[str, Any]
) -> None:
    partner, mona = _partner(graph), people["mona"]
    outcomes = m365_partner.connect_clients(partner, mapping={HARTWELL: hartwell, DEARBORN: dearborn}, actor=mona)
    assert [(o.client.slug, o.status) for o in outcomes] == [("dearborn", "created"), ("hartwell", "created")]
    assert all(o.tools > 10 for o in outcomes)
    with tenant_context(hartwell):
        connector = Connector.objects.get(kind=Kind.MICROSOFT365)
        from apps.connectors.drafts import draft_of

        settings = draft_of(connector, hartwell).settings
        assert settings["tenant_id"] == HARTWELL and settings["client_id"] == PARTNER_APP_ID
        consent = ConnectorEvent.objects.get(connector=connector, kind=EventKind.CONSENT)
        assert f"partner tenant {BLUE_MESA}" in consent.summary and consent.actor == mona
        assert consent.detail["via"]["confirmed_by"] == "mona@bluemesa.example"
        assert consent.detail["via"]["customer_tenant_id"] == HARTWELL
    # The connector works in its own tenant: it reads Hartwell's users with the partner app.
    assert graph.calls("POST", f"/{HARTWELL}/oauth2/v2.0/token")

    again = m365_partner.connect_clients(partner, mapping={HARTWELL: hartwell, QUILLFIELD: dearborn}, actor=mona)
    assert [(o.client.slug, o.status) for o in again] == [("dearborn", "created"), ("hartwell", "already connected")]
    assert len(_m365(hartwell)) == 1
    assert sorted(c.name for c in _m365(dearborn)) == ["Microsoft 365", "Microsoft 365 (Quillfield Dental)"]
    taken = m365_partner.connect_clients(partner, mapping={HARTWELL: dearborn}, actor=mona)
    assert taken[0].status == "failed" and "already connected to Hartwell Law" in taken[0].reason
    assert len(_m365(dearborn)) == 2


def test_a_rerun_shows_new_and_vanished_tenants(
    graph: GraphSandbox, hartwell: Any, dearborn: Any, people: dict[str, Any]
) -> None:
    partner = _partner(graph)
    m365_partner.connect_clients(partner, mapping={HARTWELL: hartwell, DEARBORN: dearborn}, actor=people["mona"])
    graph.tenant(BLUE_MESA).customers.remove(DEARBORN)  # the GDAP relationship with Dearborn ended
    found = m365_partner.listing(partner, client_domains=_domains(hartwell, dearborn))
    rows = {row.customer.tenant_id: row for row in found.rows}
    assert set(rows) == {HARTWELL, QUILLFIELD}
    served = rows[HARTWELL].served_by
    assert served is not None and served.client == hartwell
    assert [row.customer.tenant_id for row in found.new] == [QUILLFIELD]
    assert [(v.client.slug, v.tenant_id) for v in found.vanished] == [("dearborn", DEARBORN)]


def test_a_customer_without_the_app_fails_alone(
    graph: GraphSandbox, hartwell: Any, dearborn: Any, people: dict[str, Any]
) -> None:
    del graph.tenant(QUILLFIELD).apps[PARTNER_APP_ID]  # nobody consented the app in Quillfield yet
    found = m365_partner.listing(_partner(graph), client_domains={})
    problem = next(r.customer.problem for r in found.rows if r.customer.tenant_id == QUILLFIELD)
    assert "AADSTS700016" in problem
    outcomes = m365_partner.connect_clients(
        _partner(graph), mapping={QUILLFIELD: dearborn, HARTWELL: hartwell}, actor=people["mona"]
    )
    status = {o.client.slug: (o.status, o.reason) for o in outcomes}
    assert status["hartwell"][0] == "created"
    assert status["dearborn"][0] == "failed" and "AADSTS700016" in status["dearborn"][1]
    assert _m365(dearborn) == []


def test_bad_credentials_or_input_create_nothing(graph: GraphSandbox, hartwell: Any, people: dict[str, Any]) -> None:
    with pytest.raises(m365_partner.PartnerError, match="AADSTS7000215"):
        m365_partner.connect_clients(
            _partner(graph, client_secret="wrong"), mapping={HARTWELL: hartwell}, actor=people["mona"]
        )
    assert _m365(hartwell) == []
    with pytest.raises(m365_partner.PartnerError, match="needs client_id, client_secret"):
        m365_partner.partner_from({"tenant_id": BLUE_MESA})
    with pytest.raises(m365_partner.PartnerError, match="not an Application"):
        m365_partner.partner_from(_given(graph, client_id="my-app"))
    with pytest.raises(m365_partner.PartnerError, match="neither a tenant ID"):
        m365_partner.partner_from(_given(graph, tenant_id="../../evil?x="))
    assert m365_partner.partner_from(_given(graph, tenant_id="bluemesa.example")).tenant_id == "bluemesa.example"
    with pytest.raises(m365_partner.PartnerError, match="is not a file on the Gaby host"):
        m365_partner.partner_from(_given(graph, ca_file="/nowhere/ca.pem"))
    with pytest.raises(m365_partner.PartnerError, match="https://"):
        m365_partner.partner_from(_given(graph, graph_url="http://graph.example"))
    with pytest.raises(m365_partner.PartnerError, match="does not list customer tenant"):
        m365_partner.connect_clients(
            _partner(graph), mapping={"00000000-0000-4000-8000-000000000000": hartwell}, actor=people["mona"]
        )
    graph.tenant(BLUE_MESA).apps[PARTNER_APP_ID].roles = ("Directory.Read.All",)  # no GDAP read permission
    with pytest.raises(m365_partner.PartnerError, match=r"DelegatedAdminRelationship\.Read\.All"):
        m365_partner.listing(_partner(graph), client_domains={})
    assert _m365(hartwell) == []


def test_the_command_lists_then_maps(graph: GraphSandbox, hartwell: Any, dearborn: Any) -> None:
    import json

    config = json.dumps(_given(graph))
    out = StringIO()
    call_command("gaby", "connect-m365-partner", "--config", config, "--list", stdout=out)
    text = out.getvalue()
    assert f"{HARTWELL}\tHartwell Law\thartwelllaw.com, hartwelllaw.onmicrosoft.com\tnew, suggested: hartwell" in text
    assert f"{QUILLFIELD}\tQuillfield Dental" in text and "no matching client" in text
    out = StringIO()
    call_command("gaby", "connect-m365-partner", "--config", config, "--map", f"{HARTWELL}=hartwell", stdout=out)
    assert f"{HARTWELL} (Hartwell Law) → hartwell: created, connector Microsoft 365" in out.getvalue()
    with pytest.raises(CommandError, match="TENANT_ID=GABY_CLIENT_SLUG"):
        call_command("gaby", "connect-m365-partner", "--config", config, "--map", "12=hartwell")
    with pytest.raises(CommandError, match="not connected"):
        call_command("gaby", "connect-m365-partner", "--config", config, "--map", f"{HARTWELL}=dearborn")
