"""The Graph stand-in's partner tenant: GDAP customers and contracts as Graph documents them, behind their
application permissions, paged; the partner's multi-tenant app holding one secret for every customer."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEARBORN, DEMO_CLIENT_ID, HARTWELL
from sandbox.msgraph_partner import BLUE_MESA, PARTNER_APP_ID, PARTNER_SECRET, QUILLFIELD

CUSTOMERS = "/v1.0/tenantRelationships/delegatedAdminCustomers"


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def http(graph: GraphSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=graph.base_url, verify=ssl.create_default_context(cafile=graph.ca_file)) as client:
        yield client


def _token(http: httpx.Client, graph: GraphSandbox, tenant: str, *, secret: str = PARTNER_SECRET) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": PARTNER_APP_ID,
        "client_secret": secret,
        "scope": f"{graph.base_url}/.default",
    }
    return http.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def _auth(http: httpx.Client, graph: GraphSandbox, tenant: str = BLUE_MESA) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(http, graph, tenant).json()['access_token']}"}


def test_the_partner_lists_its_customers_and_contracts_paged(http: httpx.Client, graph: GraphSandbox) -> None:
    auth = _auth(http, graph)
    first = http.get(CUSTOMERS, params={"$top": "2"}, headers=auth).json()
    assert first["@odata.context"].endswith("$metadata#tenantRelationships/delegatedAdminCustomers")
    assert [c["displayName"] for c in first["value"]] == ["Dearborn CPA", "Hartwell Law"]
    assert all(c["id"] == c["tenantId"] and c["@odata.type"].endswith("delegatedAdminCustomer") for c in first["value"])
    rest = http.get(first["@odata.nextLink"].removeprefix(graph.base_url), headers=auth).json()
    assert [c["tenantId"] for c in rest["value"]] == [QUILLFIELD] and "@odata.nextLink" not in rest
    contracts = {c["customerId"]: c for c in http.get("/v1.0/contracts", headers=auth).json()["value"]}
    assert set(contracts) == {HARTWELL, DEARBORN, QUILLFIELD}
    assert contracts[HARTWELL]["defaultDomainName"] == "hartwelllaw.com"
    assert (
        contracts[HARTWELL]["contractType"] == "ResellerPartner"
        and contracts[HARTWELL]["displayName"] == "Hartwell Law"
    )


def test_permissions_and_tenants_answer_as_graph_does(http: httpx.Client, graph: GraphSandbox) -> None:
    customer = _auth(http, graph, HARTWELL)  # the partner's app in a customer: no GDAP customers of its own
    assert http.get(CUSTOMERS, headers=customer).json()["value"] == []
    graph.tenant(BLUE_MESA).apps[PARTNER_APP_ID].roles = ("Directory.Read.All",)
    refused = http.get(CUSTOMERS, headers=_auth(http, graph))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    assert http.get(CUSTOMERS).status_code == 401
    graph.fail_next(429, path=CUSTOMERS, headers={"Retry-After": "2"})
    throttled = http.get(CUSTOMERS, headers=customer)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"


def test_the_multi_tenant_app_has_one_secret_kept_at_home(http: httpx.Client, graph: GraphSandbox) -> None:
    for tenant in (BLUE_MESA, HARTWELL, DEARBORN, QUILLFIELD):
        assert _token(http, graph, tenant).status_code == 200
    assert _token(http, graph, HARTWELL, secret="hartwell-demo-secret").json()["error_codes"] == [7000215]
    graph.tenant(BLUE_MESA).apps[PARTNER_APP_ID].secret = "rotated"  # rotated on the home registration
    assert _token(http, graph, DEARBORN).status_code == 401
    assert _token(http, graph, DEARBORN, secret="rotated").status_code == 200
    del graph.tenant(BLUE_MESA).apps[PARTNER_APP_ID]  # the registration deleted: no secret works anywhere
    assert _token(http, graph, DEARBORN, secret="").status_code == 401
    assert graph.tenant(HARTWELL).apps[DEMO_CLIENT_ID].secret == "hartwell-demo-secret"  # the demo app unchanged
