"""The ConnectWise stand-in answers as Manage documents it: Basic keys + clientId, conditions, paging, errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.connectwise import API, ConnectWiseSandbox

CLIENT_ID = "6a1f5b7e-3c0d-4f59-9d8e-1b2c3d4e5f60"


@pytest.fixture
def cw() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as sandbox:
        yield sandbox


def _auth(login: str = "northwind+pubkey-gaby:privkey-gaby", client_id: str = CLIENT_ID) -> dict[str, str]:
    headers = {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()}
    return {**headers, "clientId": client_id} if client_id else headers


def test_keys_and_client_id_are_required_with_manage_s_answers(cw: ConnectWiseSandbox) -> None:
    url = f"{cw.base_url}{API}/service/tickets"
    assert httpx.get(url, headers=_auth()).status_code == 200
    missing = httpx.get(url, headers=_auth(client_id=""))
    assert missing.status_code == 403 and missing.json()["message"] == "A clientId header is required."
    assert httpx.get(url, headers=_auth(client_id="0" * 32)).status_code == 403
    for login in ("northwind+pubkey-gaby:wrong", "other+pubkey-gaby:privkey-gaby", "northwind+nobody:x"):
        refused = httpx.get(url, headers=_auth(login))
        assert refused.status_code == 401 and refused.json()["code"] == "Unauthorized"
    assert httpx.get(f"{cw.base_url}/v4_6_release/apis/2.0/service/tickets", headers=_auth()).status_code == 404


def test_conditions_filter_order_and_page_with_a_link_header(cw: ConnectWiseSandbox) -> None:
    url = f"{cw.base_url}{API}/service/tickets"
    params = {"conditions": "company/id = 250 and lastUpdated > [2026-11-16T09:00:00Z]", "pageSize": "1"}
    first = httpx.get(url, headers=_auth(), params={**params, "orderBy": "lastUpdated desc"})
    assert [t["id"] for t in first.json()] == [5102]
    assert "page=2" in first.links["next"]["url"] and "last" in first.links
    second = httpx.get(first.links["next"]["url"], headers=_auth())
    assert [t["id"] for t in second.json()] == [5101] and "next" not in second.links
    either = {"conditions": 'summary contains "printer" or company/identifier = "DearbornLaw"'}
    assert [t["id"] for t in httpx.get(url, headers=_auth(), params=either).json()] == [6101, 7101]
    bad = httpx.get(url, headers=_auth(), params={"conditions": "company/id = "})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "conditions"
    unknown = httpx.get(url, headers=_auth(), params={"conditions": "colour = 1"})
    assert "Unknown field 'colour'" in unknown.json()["errors"][0]["message"]
    assert httpx.get(url, headers=_auth(), params={"pageSize": "1001"}).status_code == 400


def test_notes_need_a_flag_and_patches_take_json_patch(cw: ConnectWiseSandbox) -> None:
    notes = f"{cw.base_url}{API}/service/tickets/5101/notes"
    refused = httpx.post(notes, headers=_auth(), json={"text": "Hello"})
    assert refused.status_code == 400 and refused.json()["code"] == "InvalidObject"
    assert refused.json()["errors"][0]["field"] == "detailDescriptionFlag"
    written = httpx.post(notes, headers=_auth(), json={"text": "Hello", "internalAnalysisFlag": True})
    assert written.status_code == 201 and written.json()["member"]["identifier"] == "gaby"
    ticket = f"{cw.base_url}{API}/service/tickets/5101"
    patched = httpx.patch(ticket, headers=_auth(), json=[{"op": "replace", "path": "status", "value": {"id": 21}}])
    assert patched.json()["status"] == {"id": 21, "name": "Closed"} and patched.json()["closedFlag"] is True
    assert httpx.patch(ticket, headers=_auth(), json={"status": {"id": 21}}).status_code == 400
    wrong = httpx.patch(ticket, headers=_auth(), json=[{"op": "replace", "path": "status", "value": {"id": 999}}])
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "status/id"


def test_time_entries_and_callbacks_and_faults(cw: ConnectWiseSandbox) -> None:
    entries = f"{cw.base_url}{API}/time/entries"
    entry = {"chargeToType": "ServiceTicket", "chargeToId": 5101, "timeStart": "2026-12-01T10:00:00Z"}
    assert httpx.post(entries, headers=_auth(), json=entry).json()["errors"][0]["field"] == "actualHours"
    made = httpx.post(entries, headers=_auth(), json={**entry, "timeEnd": "2026-12-01T10:30:00Z"}).json()
    assert (made["actualHours"], made["billableOption"], made["company"]["id"]) == (0.5, "Billable", 250)
    assert (
        httpx.post(entries, headers=_auth(), json={**entry, "actualHours": 1, "billableOption": "Maybe"}).status_code
        == 400
    )
    callbacks = f"{cw.base_url}{API}/system/callbacks"
    hook = {"url": "https://x.example/cb", "objectId": 250, "type": "Ticket", "level": "Company"}
    assert httpx.post(callbacks, headers=_auth(), json=hook).status_code == 201
    assert [c["url"] for c in httpx.get(callbacks, headers=_auth()).json()] == ["https://x.example/cb"]
    body = cw.callback_body(5101)
    assert (body["Type"], body["ID"], body["Action"]) == ("ticket", 5101, "updated") and '"id": 5101' in body["Entity"]
    cw.fail_next(429, headers={"Retry-After": "3"})
    throttled = httpx.get(f"{cw.base_url}{API}/company/companies", headers=_auth())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    cw.lose_next_answer("POST", "/service/tickets/5102/notes")
    lost = httpx.post(
        f"{cw.base_url}{API}/service/tickets/5102/notes", headers=_auth(), json={"text": "x", "resolutionFlag": True}
    )
    assert lost.status_code == 504 and [n["text"] for n in cw.ticket_notes(5102)][-1] == "x"


def test_a_ticket_save_fires_the_callbacks_that_cover_it(cw: ConnectWiseSandbox) -> None:
    callbacks = f"{cw.base_url}{API}/system/callbacks"
    for url, level, object_id, inactive in (
        ("https://all.example/cb", "Owner", 1, False),
        ("https://dearborn.example/cb", "Company", 251, False),
        ("https://hartwell.example/cb", "Company", 250, False),
        ("https://paused.example/cb", "Company", 250, True),
        ("https://one.example/cb", "Ticket", 5102, False),
    ):
        hook = {"url": url, "objectId": object_id, "type": "Ticket", "level": level, "inactiveFlag": inactive}
        assert httpx.post(callbacks, headers=_auth(), json=hook).status_code == 201
    received: list[tuple[str, dict[str, object]]] = []

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        received.append((url, json.loads(body)))
        return 200

    fired = cw.fire_callbacks(5101, send=send)
    assert fired == [("https://all.example/cb", 200), ("https://hartwell.example/cb", 200)]
    assert all((body["ID"], body["Type"]) == (5101, "ticket") for _, body in received)


def test_time_entries_are_found_by_ticket_and_a_text_their_notes_contain(cw: ConnectWiseSandbox) -> None:
    entries = f"{cw.base_url}{API}/time/entries"
    base = {"chargeToType": "ServiceTicket", "timeStart": "2026-12-01T10:00:00Z", "actualHours": 0.25}
    for ticket, notes in ((5101, "Reset VPN\n\n[gaby-time:abc-1]"), (5101, "Other"), (5102, "[gaby-time:abc-1]")):
        assert httpx.post(entries, headers=_auth(), json={**base, "chargeToId": ticket, "notes": notes}).is_success
    query = 'chargeToType = "ServiceTicket" and chargeToId = 5101 and notes contains "GABY-TIME:abc-1"'
    found = httpx.get(entries, headers=_auth(), params={"conditions": query}).json()
    assert [(e["chargeToId"], e["notes"]) for e in found] == [(5101, "Reset VPN\n\n[gaby-time:abc-1]")]
    with_brackets = 'chargeToId = 5101 and notes contains "[gaby-time:abc-1]"'
    assert len(httpx.get(entries, headers=_auth(), params={"conditions": with_brackets}).json()) == 1
    none = httpx.get(entries, headers=_auth(), params={"conditions": 'notes contains "gaby-time:abc-2"'}).json()
    assert none == []
