"""The HaloPSA stand-in answers as Halo documents it: client-credentials tokens, paged lists, array writes, errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.halopsa import HaloPSASandbox

FORM = {"grant_type": "client_credentials", "client_id": "gaby-api", "client_secret": "halo-client-secret"}


@pytest.fixture
def halo() -> Iterator[HaloPSASandbox]:
    with HaloPSASandbox() as sandbox:
        yield sandbox


def _auth(halo: HaloPSASandbox) -> dict[str, str]:
    answer = httpx.post(f"{halo.base_url}/auth/token", params={"tenant": "northwind"}, data={**FORM, "scope": "all"})
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_tokens_need_the_application_s_credentials_scope_and_tenant(halo: HaloPSASandbox) -> None:
    token = f"{halo.base_url}/auth/token"
    assert httpx.post(token, data={**FORM, "client_secret": "x", "scope": "all"}).json() == {"error": "invalid_client"}
    assert httpx.post(token, data={**FORM, "scope": "admin"}).json()["error"] == "invalid_scope"
    assert httpx.post(token, params={"tenant": "other"}, data={**FORM, "scope": "all"}).status_code == 400
    assert httpx.get(f"{halo.base_url}/api/Tickets").status_code == 401
    auth = _auth(halo)
    assert httpx.get(f"{halo.base_url}/api/Tickets", headers=auth).status_code == 200
    halo.expire_tokens()
    assert httpx.get(f"{halo.base_url}/api/Tickets", headers=auth).status_code == 401


def test_lists_page_filter_by_client_and_last_update_and_refuse_bad_paging(halo: HaloPSASandbox) -> None:
    auth, url = _auth(halo), f"{halo.base_url}/api/Tickets"
    everything = httpx.get(url, headers=auth).json()
    assert everything["record_count"] == 4 and "page_no" not in everything  # unpaged without pageinate
    paged: dict[str, str | int] = {"pageinate": "true", "page_size": 1, "page_no": 2, "client_id": 12}
    second = httpx.get(url, params=paged, headers=auth).json()
    assert (second["record_count"], second["page_no"], [t["id"] for t in second["tickets"]]) == (2, 2, [3002])
    assert second["tickets"][0]["client_name"] == "Hartwell Dental"
    recent = {"datesearch": "lastupdate", "startdate": "2026-11-16T10:30:00Z", "order": "last_update"}
    assert [t["id"] for t in httpx.get(url, params=recent, headers=auth).json()["tickets"]] == [3002, 4001, 5001]
    bad = httpx.get(url, params={"pageinate": "true", "page_size": 500}, headers=auth)
    assert bad.status_code == 400 and bad.json()["errors"] == {"page_size": ["page_size must be between 1 and 100."]}
    assert httpx.get(f"{halo.base_url}/api/Actions", headers=auth).json()["errors"]["ticket_id"]
    users = httpx.get(f"{halo.base_url}/api/Users", params={"client_id": 12}, headers=auth).json()["users"]
    assert [u["emailaddress"] for u in users] == ["nora@hartwell.example", "sam@hartwell.example"]
    assert [a["id"] for a in httpx.get(f"{halo.base_url}/api/Agent", headers=auth).json()] == [1, 5]


def test_writes_take_arrays_validate_ids_and_throttle(halo: HaloPSASandbox) -> None:
    auth = _auth(halo)
    actions, tickets = f"{halo.base_url}/api/Actions", f"{halo.base_url}/api/Tickets"
    assert httpx.post(actions, json={"ticket_id": 3001, "note": "x"}, headers=auth).json()["errors"]["body"]
    made = httpx.post(actions, json=[{"ticket_id": 3001, "note": "Hi", "hiddenfromuser": True}], headers=auth)
    assert made.status_code == 201 and made.json()["hiddenfromuser"] is True and made.json()["who_agentid"] == 1
    bad = httpx.post(tickets, json=[{"id": 3001, "status_id": 77}], headers=auth)
    assert bad.status_code == 400 and "status_id" in bad.json()["errors"]
    assert httpx.post(tickets, json=[{"id": 3001, "status_id": 9}], headers=auth).json()["status_name"] == "Closed"
    halo.fail_next(429, path="/api/Tickets", headers={"Retry-After": "3"})
    throttled = httpx.get(tickets, headers=auth)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    halo.lose_next_answer("POST", "/api/Actions")
    lost = httpx.post(actions, json=[{"ticket_id": 3002, "note": "Lost answer"}], headers=auth)
    assert lost.status_code == 504 and [a["note"] for a in halo.ticket_actions(3002)][-1] == "Lost answer"
