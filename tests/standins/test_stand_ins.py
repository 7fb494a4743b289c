"""The Keycloak and Stripe stand-ins answer as the vendors document (what the connector tests rely on)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.keycloak import KeycloakSandbox
from sandbox.stripe import StripeSandbox

STRIPE_AUTH = {"Authorization": "Bearer sk_test_gaby_demo"}


@pytest.fixture
def kc() -> Iterator[KeycloakSandbox]:
    with KeycloakSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def stripe() -> Iterator[StripeSandbox]:
    with StripeSandbox() as sandbox:
        yield sandbox


def _token(kc: KeycloakSandbox, **form: str) -> httpx.Response:
    return httpx.post(f"{kc.base_url}/realms/acme/protocol/openid-connect/token", data=form)


def test_keycloak_grants_tokens_and_refuses_bad_credentials(kc: KeycloakSandbox) -> None:
    bad = _token(kc, grant_type="client_credentials", client_id="gaby-support", client_secret="nope")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    wrong_user = _token(kc, grant_type="password", client_id="admin-cli", username="admin", password="x")
    assert wrong_user.status_code == 400 and wrong_user.json()["error_description"] == "Invalid user credentials"
    body = _token(kc, grant_type="password", client_id="admin-cli", username="admin", password="admin").json()
    refreshed = _token(kc, grant_type="refresh_token", client_id="admin-cli", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["token_type"] == "Bearer"
    reused = _token(kc, grant_type="refresh_token", client_id="admin-cli", refresh_token=body["refresh_token"])
    assert reused.status_code == 400  # refresh tokens are single use here


def test_keycloak_admin_api_pages_filters_and_expires_tokens(kc: KeycloakSandbox) -> None:
    token = _token(kc, grant_type="client_credentials", client_id="gaby-support", client_secret="demo-secret")
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    users = f"{kc.base_url}/admin/realms/acme/users"
    assert httpx.get(users).status_code == 401
    listed = httpx.get(users, params={"first": 1, "max": 2}, headers=auth).json()
    assert [u["username"] for u in listed] == ["jane.doe", "raj.patel"]  # sorted: former.employee is first
    exact = httpx.get(users, params={"email": "JANE.DOE@acme.test", "exact": "true"}, headers=auth).json()
    assert len(exact) == 1 and "credentials" not in exact[0] and exact[0]["totp"] is False
    assert httpx.get(f"{users}/count", headers=auth).json() == 4
    jane = exact[0]["id"]
    brute = f"{kc.base_url}/admin/realms/acme/attack-detection/brute-force/users/{jane}"
    assert httpx.get(brute, headers=auth).json()["disabled"] is True
    assert httpx.delete(brute, headers=auth).status_code == 204 and kc.unlocks == [jane]
    bot = kc.user("service-bot")["id"]
    no_mail = httpx.put(f"{users}/{bot}/execute-actions-email", json=["UPDATE_PASSWORD"], headers=auth)
    assert no_mail.status_code == 400 and no_mail.json() == {"errorMessage": "User email missing"}
    assert httpx.get(f"{users}/nope", headers=auth).json() == {"error": "User not found"}
    kc.expire_tokens()
    assert httpx.get(users, headers=auth).status_code == 401


def test_stripe_lists_page_with_starting_after(stripe: StripeSandbox) -> None:
    url = f"{stripe.base_url}/v1/charges"
    first = httpx.get(url, params={"customer": "cus_Acme01", "limit": 2}, headers=STRIPE_AUTH).json()
    assert first["object"] == "list" and first["has_more"] is True and len(first["data"]) == 2
    rest = httpx.get(
        url,
        params={"customer": "cus_Acme01", "limit": 2, "starting_after": first["data"][-1]["id"]},
        headers=STRIPE_AUTH,
    ).json()
    assert rest["has_more"] is False and [c["id"] for c in rest["data"]] == ["ch_AcmeFail"]
    bad = httpx.get(url, params={"limit": 101}, headers=STRIPE_AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    basic = httpx.get(url, auth=("sk_test_gaby_demo", ""))
    assert basic.status_code == 200 and basic.headers["request-id"].startswith("req_")
    denied = httpx.get(url, headers={"Authorization": "Bearer sk_test_wrong_0000"})
    assert denied.status_code == 401 and "Invalid API Key provided: sk_test_" in denied.json()["error"]["message"]


def test_stripe_replays_an_idempotent_request_and_refuses_the_key_with_other_parameters(
    stripe: StripeSandbox,
) -> None:
    url = f"{stripe.base_url}/v1/refunds"
    headers = {**STRIPE_AUTH, "Idempotency-Key": "k-1"}
    first = httpx.post(url, data={"charge": "ch_AcmeDup", "amount": 900}, headers=headers)
    again = httpx.post(url, data={"charge": "ch_AcmeDup", "amount": 900}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true" and len(stripe.refunds) == 1
    other = httpx.post(url, data={"charge": "ch_AcmeDup", "amount": 100}, headers=headers)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    too_much = httpx.post(url, data={"charge": "ch_AcmeDup", "amount": 99_999}, headers=STRIPE_AUTH)
    assert too_much.json()["error"]["code"] == "amount_too_large"
    failed = httpx.post(url, data={"charge": "ch_AcmeFail"}, headers=STRIPE_AUTH)
    assert failed.json()["error"]["code"] == "charge_not_refundable"


def test_stripe_invoice_send_and_pay_follow_the_collection_rules(stripe: StripeSandbox) -> None:
    base = f"{stripe.base_url}/v1/invoices"
    automatic = httpx.post(f"{base}/in_AcmeMay/send", headers=STRIPE_AUTH)
    assert automatic.status_code == 400 and "send_invoice" in automatic.json()["error"]["message"]
    assert httpx.post(f"{base}/in_Globex7/send", headers=STRIPE_AUTH).status_code == 200
    assert stripe.sent_invoices == ["in_Globex7"]
    paid = httpx.post(f"{base}/in_AcmeMay/pay", headers=STRIPE_AUTH).json()
    assert paid["status"] == "paid" and paid["attempt_count"] == 4 and "pay_outcome" not in paid
    again = httpx.post(f"{base}/in_AcmeMay/pay", headers=STRIPE_AUTH)
    assert again.status_code == 400 and again.json()["error"]["code"] == "invoice_already_paid"


def test_faults_are_answered_once_then_the_real_answer(stripe: StripeSandbox) -> None:
    url = f"{stripe.base_url}/v1/customers/cus_Acme01"
    stripe.fail_next(429, path="/v1/customers", headers={"Retry-After": "3"})
    limited = httpx.get(url, headers=STRIPE_AUTH)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["code"] == "rate_limit"
    stripe.fail_next(503, body=b"<html>maintenance</html>", times=2)
    assert [httpx.get(url, headers=STRIPE_AUTH).status_code for _ in range(3)] == [503, 503, 200]
    assert [c.status for c in stripe.calls("GET", "/v1/customers/")] == [429, 503, 503, 200]
