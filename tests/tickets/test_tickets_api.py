"""The tickets JSON API: list, get, create, reply, update, over a session or an API key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from apps.apikeys import services as keys
from apps.tickets import services
from apps.tickets.models import Message, Ticket
from apps.tickets.normalized import NormalizedMessage, NormalizedTicket

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def source(make_source: Any) -> Any:
    return make_source()


@pytest.fixture
def agent(hartwell: Any, people: Any) -> HttpClient:
    with tenant_context(hartwell):
        token = keys.create_key(name="Tests", role="agent", actor=people["alice"])[1]
    return HttpClient(HTTP_HOST="hartwell.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def _ticket(hartwell: Any, source: Any, external_id: str, **fields: Any) -> Ticket:
    with tenant_context(hartwell):
        message = NormalizedMessage(external_id=f"{external_id}-m", body="first message", author_label="Dana")
        normalized = NormalizedTicket(
            external_id=external_id, title=f"Ticket {external_id}", messages=(message,), **fields
        )
        return services.ingest_ticket(source=source, normalized=normalized).ticket


def test_list_filters_and_paginates(agent: HttpClient, hartwell: Any, source: Any) -> None:
    for n in range(5):
        _ticket(hartwell, source, f"L-{n}", priority="urgent" if n % 2 else "low")
    _ticket(hartwell, source, "L-solved", status="solved")
    first = agent.get("/api/v1/tickets", {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = agent.get("/api/v1/tickets", {"limit": 10, "after": first["next_cursor"]}).json()
    ids = [t["id"] for t in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 5  # "active" by default: the solved one is left out
    urgent = agent.get("/api/v1/tickets", {"priority": "urgent"}).json()["items"]
    assert {t["title"] for t in urgent} == {"Ticket L-1", "Ticket L-3"}
    assert [t["title"] for t in agent.get("/api/v1/tickets", {"status": "solved"}).json()["items"]] == [
        "Ticket L-solved"
    ]
    assert [t["title"] for t in agent.get("/api/v1/tickets", {"q": "L-4", "status": ""}).json()["items"]] == [
        "Ticket L-4"
    ]
    by_source = agent.get("/api/v1/tickets", {"source": str(source.pk), "status": ""}).json()["items"]
    assert len(by_source) == 6


def test_get_returns_the_thread(agent: HttpClient, hartwell: Any, source: Any) -> None:
    ticket = _ticket(hartwell, source, "G-1")
    detail = agent.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["title"] == "Ticket G-1" and detail["source_id"] == str(source.pk)
    assert [m["body"] for m in detail["messages"]] == ["first message"]
    assert agent.get("/api/v1/tickets/01900000-0000-7000-8000-000000000000").status_code == 404


def test_create_is_idempotent_on_external_id(agent: HttpClient, hartwell: Any, source: Any) -> None:
    body = {
        "source_id": str(source.pk),
        "title": "Cannot print",
        "body": "The office printer says PC LOAD LETTER.",
        "contact_email": "Dana@Client.example",
        "priority": "high",
        "tags": ["printer"],
        "external_id": "ext-1",
    }
    created = agent.post("/api/v1/tickets", body, content_type=JSON)
    assert created.status_code == 201, created.content
    again = agent.post("/api/v1/tickets", body, content_type=JSON)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    data = created.json()
    assert data["priority"] == "high" and data["tags"] == ["printer"] and data["contact_email"] == "dana@client.example"
    assert [m["body"] for m in data["messages"]] == [body["body"]]
    with tenant_context(hartwell):
        assert Ticket.objects.filter(external_id="ext-1").count() == 1
    without_id = agent.post("/api/v1/tickets", {"source_id": str(source.pk), "title": "No id"}, content_type=JSON)
    assert without_id.status_code == 201 and without_id.json()["external_id"].startswith("api:")


def test_create_says_what_is_wrong(agent: HttpClient, source: Any) -> None:
    missing = agent.post("/api/v1/tickets", {"source_id": str(source.pk)}, content_type=JSON)
    assert missing.status_code == 422 and "title" in str(missing.json())
    unknown = agent.post(
        "/api/v1/tickets", {"source_id": "01900000-0000-7000-8000-000000000000", "title": "x"}, content_type=JSON
    )
    assert unknown.status_code == 404
    bad_priority = agent.post(
        "/api/v1/tickets", {"source_id": str(source.pk), "title": "x", "priority": "meh"}, content_type=JSON
    )
    assert bad_priority.status_code == 422 and "priority" in str(bad_priority.json())


def test_reply_and_note(agent: HttpClient, hartwell: Any, source: Any) -> None:
    ticket = _ticket(hartwell, source, "R-1")
    note = agent.post(
        f"/api/v1/tickets/{ticket.pk}/messages", {"body": "Checked logs", "kind": "internal_note"}, content_type=JSON
    )
    assert note.status_code == 201 and note.json()["kind"] == "internal_note"
    blank = agent.post(f"/api/v1/tickets/{ticket.pk}/messages", {"body": "   "}, content_type=JSON)
    assert blank.status_code == 400 and "Write something" in blank.json()["detail"]
    with tenant_context(hartwell):
        assert Message.objects.filter(ticket=ticket).count() == 2


def test_update_changes_fields_and_refuses_bad_moves(
    agent: HttpClient, hartwell: Any, source: Any, people: Any
) -> None:
    ticket = _ticket(hartwell, source, "U-1")
    bob = people["bob"]
    changed = agent.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"status": "closed", "priority": "urgent", "tags": ["VPN", "Billing"], "assignee_id": str(bob.pk)},
        content_type=JSON,
    )
    assert changed.status_code == 200, changed.content
    data = changed.json()
    assert (data["status"], data["priority"], data["tags"], data["assignee_id"]) == (
        "closed",
        "urgent",
        ["billing", "vpn"],
        str(bob.pk),
    )
    reopen = agent.patch(f"/api/v1/tickets/{ticket.pk}", {"status": "open"}, content_type=JSON)
    assert reopen.status_code == 400 and "cannot become open" in reopen.json()["detail"]
    unassign = agent.patch(f"/api/v1/tickets/{ticket.pk}", {"assignee_id": None}, content_type=JSON)
    assert unassign.json()["assignee_id"] is None
    stranger = agent.patch(f"/api/v1/tickets/{ticket.pk}", {"assignee_id": str(people["carol"].pk)}, content_type=JSON)
    assert stranger.status_code == 404


def test_sessions_work_and_other_clients_are_refused(as_user: Any, hartwell: Any, source: Any) -> None:
    ticket = _ticket(hartwell, source, "S-1")
    assert as_user("bob", "hartwell").get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert as_user("carol", "hartwell").get(f"/api/v1/tickets/{ticket.pk}").status_code == 403
    assert as_user("carol", "dearborn").get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    assert as_user(None, "hartwell").get("/api/v1/tickets").status_code == 401


def test_the_api_is_in_the_openapi_document(as_user: Any) -> None:
    paths = as_user("bob", "hartwell").get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tickets"])
    assert {"get", "patch"} <= set(paths["/api/v1/tickets/{ticket_id}"])
    assert "post" in paths["/api/v1/tickets/{ticket_id}/messages"]
