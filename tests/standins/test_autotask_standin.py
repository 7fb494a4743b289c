"""The Autotask stand-in answers as Autotask documents it: zone discovery, three auth headers, the filter grammar,
id-ordered pages with nextPageUrl, {"errors": [...]} bodies, picklists, validated writes and 429s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.autotask import AutotaskSandbox

HEADERS = {
    "ApiIntegrationCode": "GABYTRACKINGIDENTIFIER01",
    "UserName": "gaby-api@northwind.example",
    "Secret": "at-secret",
}


@pytest.fixture
def at() -> Iterator[AutotaskSandbox]:
    with AutotaskSandbox() as sandbox:
        yield sandbox


def api(at: AutotaskSandbox) -> str:
    zone = httpx.get(f"{at.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": HEADERS["UserName"]})
    assert zone.status_code == 200 and zone.json()["zoneName"]
    return str(zone.json()["url"]) + "v1.0"


def query(at: AutotaskSandbox, entity: str, search: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{api(at)}/{entity}/query", json=search, headers={**HEADERS, **headers})


def test_the_zone_is_discovered_and_each_header_is_required(at: AutotaskSandbox) -> None:
    unknown = httpx.get(f"{at.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": "nobody"})
    assert unknown.status_code == 404 and "could not be determined" in unknown.json()["errors"][0]
    search = {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    assert query(at, "Companies", search).status_code == 200
    for name in HEADERS:
        refused = query(at, "Companies", search, **{name: "wrong"})
        assert refused.status_code == 401 and refused.json() == {"errors": ["Unauthorized"]}
    outside = httpx.post(f"{at.base_url}/atservicesrest/v1.0/Companies/query", json=search, headers=HEADERS)
    assert outside.status_code == 500 and "another zone" in outside.json()["errors"][0]


def test_filters_groups_and_pages_follow_the_grammar(at: AutotaskSandbox) -> None:
    either = {"op": "or", "items": [{"op": "eq", "field": "companyID", "value": 175},
                                    {"op": "contains", "field": "title", "value": "PRINT"}]}  # fmt: skip
    found = query(at, "Tickets", {"filter": [either], "MaxRecords": 2}).json()
    assert [t["id"] for t in found["items"]] == [7701, 7801]  # id order; text compares without case
    assert found["pageDetails"]["count"] == 2 and found["pageDetails"]["nextPageUrl"]
    rest = httpx.get(found["pageDetails"]["nextPageUrl"], headers=HEADERS).json()
    assert [t["id"] for t in rest["items"]] == [7901] and rest["pageDetails"]["nextPageUrl"] is None
    later = {"op": "gt", "field": "lastActivityDate", "value": "2026-11-16T10:30:00Z"}
    assert [t["id"] for t in query(at, "Tickets", {"filter": [later]}).json()["items"]] == [7801, 7901]
    assigned = query(at, "Tickets", {"filter": [{"op": "exist", "field": "assignedResourceID"}]}).json()
    assert [t["id"] for t in assigned["items"]] == [7702]
    for bad, says in (
        ({"filter": []}, "needs a filter"),
        ({"filter": [{"op": "eq", "field": "nope", "value": 1}]}, "'nope' does not exist"),
        ({"filter": [{"op": "near", "field": "id", "value": 1}]}, "Unknown operator"),
        ({"filter": [later], "MaxRecords": 501}, "MaxRecords must be between 1 and 500"),
    ):
        refused = query(at, "Tickets", bad)
        assert refused.status_code == 500 and says in refused.json()["errors"][0], refused.text


def test_writes_are_validated_and_answer_their_item_id(at: AutotaskSandbox) -> None:
    root = api(at)
    note = {"title": "Reply", "description": "Try the PCL6 driver.", "noteType": 1, "publish": 1}
    written = httpx.post(f"{root}/Tickets/7701/Notes", json=note, headers=HEADERS).json()
    assert at.notes[written["itemId"]]["creatorResourceID"] == 29682885  # the API user's resource
    refused = httpx.post(f"{root}/Tickets/7701/Notes", json={**note, "publish": 9}, headers=HEADERS)
    assert refused.status_code == 500 and "not valid for publish" in refused.json()["errors"][0]
    half = httpx.patch(f"{root}/Tickets", json={"id": 7701, "assignedResourceID": 29682886}, headers=HEADERS)
    assert half.status_code == 500 and "set, or cleared, together" in half.json()["errors"][0]
    whole = {"id": 7701, "assignedResourceID": 29682886, "assignedResourceRoleID": 29682834, "status": 8}
    assert httpx.patch(f"{root}/Tickets", json=whole, headers=HEADERS).json() == {"itemId": 7701}
    fields = httpx.get(f"{root}/Tickets/entityInformation/fields", headers=HEADERS).json()["fields"]
    status = next(f for f in fields if f["name"] == "status")
    assert {"value": "8", "label": "In Progress"}.items() <= status["picklistValues"][3].items()
    entry = {"ticketID": 7701, "resourceID": 29682885, "roleID": 29682833, "billingCodeID": 29682801,
             "dateWorked": "2026-11-16T00:00:00Z", "hoursWorked": 0.25, "summaryNotes": "Driver swap"}  # fmt: skip
    made = httpx.post(f"{root}/TimeEntries", json=entry, headers=HEADERS).json()
    assert at.time_entries[made["itemId"]]["hoursToBill"] == 0.25
    for change, says in (({"roleID": None}, "roleID"), ({"hoursWorked": 0}, "hoursWorked"),
                         ({"summaryNotes": ""}, "summaryNotes")):  # fmt: skip
        refused = httpx.post(f"{root}/TimeEntries", json={**entry, **change}, headers=HEADERS)
        assert refused.status_code == 500 and says in refused.json()["errors"][0]
    marker = {"filter": [{"op": "contains", "field": "summaryNotes", "value": "swap"}]}
    assert [e["id"] for e in query(at, "TimeEntries", marker).json()["items"]] == [made["itemId"]]


def test_rate_limit_and_lost_answers(at: AutotaskSandbox) -> None:
    root = api(at)
    at.throttle.limit = (2, 60.0)
    search = {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    statuses = [query(at, "Companies", search).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = query(at, "Companies", search)
    assert int(limited.headers["Retry-After"]) >= 1 and "threshold" in limited.json()["errors"][0]
    at.throttle.limit = None
    at.lose_next_answer("PATCH", "/Tickets")
    lost = httpx.patch(f"{root}/Tickets", json={"id": 7701, "priority": 4}, headers=HEADERS)
    assert lost.status_code == 504 and at.tickets[7701]["priority"] == 4  # written all the same
    assert json.loads(at.requests[-1].body)["priority"] == 4


def test_ticket_webhooks_are_validated_and_call_back_signed_with_retries(at: AutotaskSandbox) -> None:
    import base64
    import hashlib
    import hmac

    from tests.http_receiver import http_receiver

    root = api(at)
    missing = httpx.post(f"{root}/TicketWebhooks", json={"name": "x", "isActive": True}, headers=HEADERS)
    assert missing.status_code == 500 and "webhookUrl is required" in missing.json()["errors"][0]
    with http_receiver("/hook") as receiver:
        receiver.script = [503]  # the first delivery fails: Autotask tries again
        made = httpx.post(
            f"{root}/TicketWebhooks",
            headers=HEADERS,
            json={
                "IsActive": True,
                "Name": "Test",
                "WebhookUrl": receiver.url,
                "DeactivationUrl": receiver.url + "/off",
                "SecretKey": "0123456789secret",
                "IsSubscribedToUpdateEvents": True,
            },
        )
        hook = made.json()["itemId"]
        wrong = httpx.post(f"{root}/TicketWebhooks/{hook}/Fields", json={"fieldID": 999, "isSubscribedField": True},
                           headers=HEADERS)  # fmt: skip
        assert wrong.status_code == 500 and "fieldID 999" in wrong.json()["errors"][0]
        at.add_note(7701, "not ready yet: no subscribed field")
        assert at.outbox == []
        field = httpx.post(f"{root}/TicketWebhooks/{hook}/Fields", json={"fieldID": 23, "isSubscribedField": True},
                           headers=HEADERS)  # fmt: skip
        assert field.status_code == 200 and at.webhooks[hook]["isReady"]
        at.start_delivering(interval=0.1)
        at.add_note(7701, "The LaserJet again.")
        first, second = receiver.wait_for(2)
        assert first.body == second.body  # the 503'd callout, delivered again byte for byte
        body = second.json()
        assert (body["Action"], body["EntityType"], body["Id"]) == ("Update", "Ticket", 7701)
        assert "lastActivityDate" in body["Fields"] and body["Guid"] == at.webhooks[hook]["webhookGUID"]
        digest = hmac.new(b"0123456789secret", second.body, hashlib.sha1).digest()
        assert second.headers["X-Hook-Signature"] == "sha1=" + base64.b64encode(digest).decode()
        shown = httpx.get(f"{root}/TicketWebhooks/{hook}", headers=HEADERS).json()["item"]
        assert "secretKey" not in shown  # the secret is never read back
        assert httpx.delete(f"{root}/TicketWebhooks/{hook}", headers=HEADERS).status_code == 200
        assert receiver.wait_for(3)[-1].path == "/hook/off"  # the deactivation URL is told
