"""The Microsoft Graph stand-in's documented shapes, over plain HTTPS (the connector tests drive it through the SDK)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEARBORN, DEMO_CLIENT_ID, DEMO_SEED, HARTWELL

LIMITED = "2b3c4d5e-0000-4000-8000-00000000cafe"


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    seed: dict[str, Any] = {"tenants": [dict(t) for t in DEMO_SEED["tenants"]]}
    seed["tenants"][0] = {
        **seed["tenants"][0],
        "apps": {**seed["tenants"][0]["apps"], LIMITED: {"secret": "s3cret", "roles": ["User.Read.All"]}},
    }
    with GraphSandbox(seed) as sandbox:
        yield sandbox


@pytest.fixture
def http(graph: GraphSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=graph.base_url, verify=ssl.create_default_context(cafile=graph.ca_file)) as client:
        yield client


def _token(http: httpx.Client, graph: GraphSandbox, tenant: str = HARTWELL, **form: str) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": "hartwell-demo-secret",
        "scope": f"{graph.base_url}/.default",
        **form,
    }
    return http.post(f"/{tenant}/oauth2/v2.0/token", data=body)


def _auth(http: httpx.Client, graph: GraphSandbox, **form: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(http, graph, **form).json()['access_token']}"}


def test_the_token_endpoint_speaks_aadsts(http: httpx.Client, graph: GraphSandbox) -> None:
    metadata = http.get("/hartwelllaw.com/v2.0/.well-known/openid-configuration").json()
    assert metadata["token_endpoint"] == f"{graph.base_url}/{HARTWELL}/oauth2/v2.0/token"
    ok = _token(http, graph, tenant="hartwelllaw.com")  # a verified domain names the tenant too
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3599
    unknown = _token(http, graph, tenant="nowhere.example")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]
    stranger = _token(http, graph, client_id="00000000-0000-4000-8000-000000000000")
    assert stranger.json()["error"] == "unauthorized_client" and "AADSTS700016" in stranger.json()["error_description"]
    wrong = _token(http, graph, tenant=DEARBORN)  # Hartwell's secret for the same app in Dearborn
    assert wrong.status_code == 401 and wrong.json()["error_codes"] == [7000215]


def test_collections_page_with_next_links_and_select_default_properties(
    http: httpx.Client, graph: GraphSandbox
) -> None:
    headers = _auth(http, graph)
    first = http.get("/v1.0/users", params={"$top": "2"}, headers=headers).json()
    assert first["@odata.context"] == f"{graph.base_url}/v1.0/$metadata#users" and len(first["value"]) == 2
    assert "accountEnabled" not in first["value"][0] and "signInActivity" not in first["value"][0]
    second = http.get(first["@odata.nextLink"], headers=headers).json()
    assert "@odata.nextLink" not in second and len(first["value"]) + len(second["value"]) == 4
    chosen = http.get("/v1.0/users", params={"$select": "accountEnabled,signInActivity"}, headers=headers).json()
    assert set(chosen["value"][0]) == {"id", "accountEnabled", "signInActivity"}
    jane = http.get("/v1.0/users", params={"$filter": "startswith(displayName,'jan')"}, headers=headers).json()
    assert [u["displayName"] for u in jane["value"]] == ["Jane Doe"]
    for bad in ({"$filter": "displayName ne 'x'"}, {"$top": "1000"}, {"$skiptoken": "garbage"}):
        error = http.get("/v1.0/users", params=bad, headers=headers)
        assert error.status_code == 400 and set(error.json()["error"]) == {"code", "message", "innerError"}
        assert {"date", "request-id", "client-request-id"} <= set(error.json()["error"]["innerError"])


def test_permissions_methods_and_throttling_answer_as_graph_does(http: httpx.Client, graph: GraphSandbox) -> None:
    limited = _auth(http, graph, client_id=LIMITED, client_secret="s3cret")
    assert http.get("/v1.0/users", headers=limited).status_code == 200
    denied = http.get("/v1.0/subscribedSkus", headers=limited)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    headers = _auth(http, graph)
    assert http.put("/v1.0/users", headers=headers).status_code == 405
    assert http.get("/v1.0/users", headers={"Authorization": "Bearer nope"}).status_code == 401
    graph.fail_next(429, path="/v1.0/domains", headers={"Retry-After": "3"})
    throttled = http.get("/v1.0/domains", headers=headers)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    graph.expire_tokens()
    expired = http.get("/v1.0/domains", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_writes_keep_graphs_rules(http: httpx.Client, graph: GraphSandbox) -> None:
    headers = _auth(http, graph)
    tenant = graph.tenant(HARTWELL)
    jane, sam = tenant.user("jane.doe@hartwelllaw.com"), tenant.user("sam.ortiz@hartwelllaw.com")
    assert jane is not None and sam is not None
    weak = http.patch(f"/v1.0/users/{jane['id']}", json={"passwordProfile": {"password": "password"}}, headers=headers)
    assert weak.status_code == 400 and "complexity" in weak.json()["error"]["message"]
    exchange = tenant.sku_named("EXCHANGESTANDARD")["skuId"]
    for user in [u for u in tenant.users.values() if u["usageLocation"]][:3]:
        body = {"addLicenses": [{"skuId": exchange, "disabledPlans": []}], "removeLicenses": []}
        assert http.post(f"/v1.0/users/{user['id']}/assignLicense", json=body, headers=headers).status_code == 200
    clerk, tom = tenant.user("former.clerk@hartwelllaw.com"), graph.tenant(DEARBORN).user("tom.becker@dearborncpa.com")
    assert clerk is not None and tom is not None
    body = {"addLicenses": [{"skuId": exchange, "disabledPlans": []}], "removeLicenses": []}
    nowhere = http.post(f"/v1.0/users/{clerk['id']}/assignLicense", json=body, headers=headers)
    assert nowhere.status_code == 400 and "usage location" in nowhere.json()["error"]["message"]
    clerk["usageLocation"] = "US"
    no_seat = http.post(f"/v1.0/users/{clerk['id']}/assignLicense", json=body, headers=headers)
    assert no_seat.status_code == 400 and "no more available licenses" in no_seat.json()["error"]["message"]
    other_tenant = http.get(f"/v1.0/users/{tom['id']}", headers=headers)  # Hartwell's token, Dearborn's user
    assert other_tenant.status_code == 404 and other_tenant.json()["error"]["code"] == "Request_ResourceNotFound"
    staff = tenant.group_named("All Staff")["id"]
    reference = {"@odata.id": f"{graph.graph_url}/directoryObjects/{sam['id']}"}
    dl = http.post(f"/v1.0/groups/{staff}/members/$ref", json=reference, headers=headers)
    assert dl.status_code == 400 and "distribution list" in dl.json()["error"]["message"]
    partners = tenant.group_named("Partners")["id"]
    assert http.post(f"/v1.0/groups/{partners}/members/$ref", json=reference, headers=headers).status_code == 204
    again = http.post(f"/v1.0/groups/{partners}/members/$ref", json=reference, headers=headers)
    assert again.status_code == 400 and "already exist" in again.json()["error"]["message"]
    method = next(m for m in jane["methods"] if m["type"] == "phone")
    wrong_kind = http.delete(f"/v1.0/users/{jane['id']}/authentication/fido2Methods/{method['id']}", headers=headers)
    assert wrong_kind.status_code == 404
    gone = http.delete(f"/v1.0/users/{jane['id']}/authentication/phoneMethods/{method['id']}", headers=headers)
    assert gone.status_code == 204 and method not in jane["methods"]
    laptop = next(d["id"] for d in tenant.devices.values() if d["deviceName"] == "HL-LT-014")
    assert http.post(f"/v1.0/deviceManagement/managedDevices/{laptop}/retire", headers=headers).status_code == 204
    pending = http.post(f"/v1.0/deviceManagement/managedDevices/{laptop}/rebootNow", headers=headers)
    assert pending.status_code == 400 and "pending retire" in pending.json()["error"]["message"]


def test_the_registration_report_answers_premium_tenants_only(http: httpx.Client, graph: GraphSandbox) -> None:
    """userRegistrationDetails: SSPR registered (enough usable methods), enabled by the policy, capable; a tenant
    without Entra ID P1 gets Graph's non-premium 403; the report is keyed by object id, not sign-in name."""
    report = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
    hartwell = graph.tenant(HARTWELL).user("sam.ortiz@hartwelllaw.com")
    assert hartwell is not None
    refused = http.get(f"{report}/{hartwell['id']}", headers=_auth(http, graph))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    dearborn = _auth(http, graph, tenant=DEARBORN, client_secret="dearborn-demo-secret")
    priya = graph.tenant(DEARBORN).user("priya.nair@dearborncpa.com")
    assert priya is not None
    row = http.get(f"{report}/{priya['id']}", headers=dearborn).json()
    assert row["isSsprRegistered"] and row["isSsprEnabled"] and row["isSsprCapable"]
    assert (
        row["methodsRegistered"] == ["microsoftAuthenticatorPush"]
        and row["userPrincipalName"] == priya["userPrincipalName"]
    )
    assert http.get(f"{report}/priya.nair@dearborncpa.com", headers=dearborn).status_code == 404
    graph.tenant(DEARBORN).sspr = "none"  # the policy off: still registered, no longer capable
    off = http.get(f"{report}/{priya['id']}", headers=dearborn).json()
    assert off["isSsprRegistered"] and not off["isSsprEnabled"] and not off["isSsprCapable"]
    limited = _auth(http, graph, client_id=LIMITED, client_secret="s3cret")
    assert http.get(f"{report}/{hartwell['id']}", headers=limited).status_code == 403  # no AuditLog.Read.All
