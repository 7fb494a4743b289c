"""Linear against recorded GraphQL exchanges, and Linear-Signature webhooks through the django test client."""

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.base import SourceError, UnsupportedOperation
from apps.tickets.sources.linear.adapter import LinearAdapter
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db
SECRET = "lin_wh_secret"
SUP_41 = "8f0c1a52-0b1d-4c1e-9a55-1a2b3c4d5e01"


def config(url: str) -> dict[str, Any]:
    return {"base_url": url, "api_key": "lin_api_test", "team_key": "SUP", "webhook_secret": SECRET, "page_size": 2}


def test_a_poll_follows_page_info_cursors_into_postgres(make_source: Any, hartwell: Any) -> None:
    with replaying("linear", "pull") as server:
        source = make_source(kind="linear", name="Linear", **config(server.url))
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        server.check()
    assert (result.status, result.created, result.quarantined) == ("ok", 2, 1)
    with tenant_context(hartwell):
        flood = Ticket.objects.get(source=source, external_id=SUP_41)
        assert (flood.status, flood.priority, flood.tags) == ("open", "high", ["Bug", "customer"])
        assert flood.contact.email == "ann@acme.example"
        thread = [(m.external_id, m.direction, m.author_label) for m in flood.messages.all()]
        assert thread == [
            (f"issue-{SUP_41}", "inbound", "Ann Support"),
            ("cm-1", "inbound", "Ann Support"),
            ("cm-2", "outbound", "Dev Eng"),
        ]
        typo = Ticket.objects.get(external_id="8f0c1a52-0b1d-4c1e-9a55-1a2b3c4d5e03")
        assert (typo.status, typo.priority, typo.messages.count()) == ("closed", "normal", 1)
        assert "priority 7 is not 0-4" in QuarantinedPayload.objects.get(source=source).error
        assert TicketSource.objects.get(pk=source.pk).cursor == {"since": "2026-11-16T10:30:00Z"}

    with replaying("linear", "update") as server, tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config=config(server.url))
        again = polling.poll(source.pk)
        server.check()
        assert (again.created, again.updated, again.new_messages) == (0, 1, 1)
        flood.refresh_from_db()
        assert flood.status == "solved" and flood.messages.count() == 4


def test_graphql_errors_fail_the_poll_with_their_message(make_source: Any, hartwell: Any) -> None:
    with replaying("linear", "errors") as server:
        source = make_source(kind="linear", name="Linear", **config(server.url))
        with tenant_context(hartwell):
            assert polling.poll(source.pk).status == "failed"
            first = TicketSource.objects.get(pk=source.pk).last_error
            TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
            assert polling.poll(source.pk).status == "failed"
            second = TicketSource.objects.get(pk=source.pk)
        server.check()
    assert first == "SourceError: Linear refused the query: Authentication required, not authenticated"
    assert second.last_error.startswith("TransientSourceError: Linear rate limit reached")
    assert second.consecutive_failures == 2


def test_comments_and_issue_updates_are_written_back(make_source: Any, hartwell: Any, people: Any) -> None:
    with replaying("linear", "writes") as server:
        source = make_source(kind="linear", name="Linear", **config(server.url))
        with tenant_context(hartwell):
            ticket = services.ingest_ticket(source=source, normalized=NormalizedTicket(SUP_41, "Flood")).ticket
            reply = services.reply(
                ticket=ticket, body="Fix is rolling out now.", kind="public_reply", author=people["bob"]
            )
            assert delivery.deliver(reply.pk) == "sent"
            reply.refresh_from_db()
            assert (reply.delivery_state, reply.external_id) == (DeliveryState.SENT, "cm-9")
        adapter = LinearAdapter(source_id=str(source.pk), config=config(server.url))
        adapter.update_status(SUP_41, "solved")
        adapter.update_priority(SUP_41, "urgent")
        adapter.update_tags(SUP_41, ["Bug", "customer"])
        with pytest.raises(SourceError, match="no label named nope"):
            adapter.update_tags(SUP_41, ["Bug", "nope"])
        adapter.assign(SUP_41, "sam@hartwell.example")
        server.check()
    with pytest.raises(UnsupportedOperation, match="estimates, not time"):
        adapter.log_time_entry(SUP_41, minutes=10, note="", billable=False)


def event(kind: str, data: dict[str, Any], *, action: str = "create", stamp: int | None = None) -> bytes:
    body = {
        "action": action,
        "type": kind,
        "data": data,
        "url": "https://linear.app/acme/issue/SUP-50",
        "createdAt": "2026-11-16T12:00:00.000Z",
        "organizationId": "org-1",
        "webhookTimestamp": stamp if stamp is not None else int(time.time() * 1000),
        "webhookId": "wh-1",
    }
    return json.dumps(body).encode()


def post(client: Any, source: Any, body: bytes, *, secret: str = SECRET) -> Any:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/sources/{source.pk}/webhook/linear",
        body,
        content_type="application/json",
        HTTP_LINEAR_SIGNATURE=signature,
    )


ISSUE = {
    "id": "issue-50",
    "identifier": "SUP-50",
    "title": "SSO login loops",
    "description": "Okta sends us back to the login page.",
    "priority": 1,
    "state": {"id": "st-todo", "name": "Todo", "type": "unstarted"},
    "labels": [{"id": "lb-sso", "name": "sso"}],
    "team": {"id": "t-sup", "key": "SUP"},
    "createdAt": "2026-11-16T12:00:00.000Z",
    "updatedAt": "2026-11-16T12:00:00.000Z",
}


def test_issue_and_comment_webhooks_create_then_append(as_user: Any, make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="linear", name="Linear", **config("http://127.0.0.1:9"))
    client = as_user(None, "hartwell")
    created = post(client, source, event("Issue", ISSUE))
    assert created.status_code == 200 and created.json()["created"] is True
    comment = {
        "id": "cm-50",
        "body": "Also on Safari.",
        "issueId": "issue-50",
        "issue": {"id": "issue-50", "title": "SSO login loops"},
    }
    appended = post(client, source, event("Comment", comment))
    assert appended.json() == {"ticket_id": created.json()["ticket_id"], "created": False, "new_messages": 1}
    assert post(client, source, event("Comment", comment)).json()["new_messages"] == 0
    assert post(client, source, event("Issue", ISSUE, action="remove")).status_code == 202
    assert post(client, source, event("Project", {"id": "p"})).status_code == 202
    other_team = post(client, source, event("Issue", dict(ISSUE, team={"key": "ENG"})))
    assert other_team.status_code == 202 and "team ENG" in other_team.json()["detail"]
    with tenant_context(hartwell):
        ticket = Ticket.objects.get(source=source)
        assert (ticket.priority, ticket.status, ticket.tags, ticket.messages.count()) == ("urgent", "open", ["sso"], 2)


def test_linear_webhook_problems_are_explained(as_user: Any, make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="linear", name="Linear", **config("http://127.0.0.1:9"))
    client = as_user(None, "hartwell")
    body = event("Issue", ISSUE)
    assert "does not match" in post(client, source, body, secret="other").json()["detail"]
    stale = post(client, source, event("Issue", ISSUE, stamp=int(time.time() * 1000) - 10 * 60_000))
    assert stale.status_code == 401 and "replayed" in stale.json()["detail"]
    unsigned = client.post(f"/api/v1/sources/{source.pk}/webhook/linear", body, content_type="application/json")
    assert unsigned.status_code == 401 and "Missing Linear-Signature" in unsigned.json()["detail"]
    bad = post(client, source, event("Issue", dict(ISSUE, priority="high")))
    assert bad.status_code == 400 and "not 0-4" in bad.json()["detail"]
    orphan = post(client, source, event("Comment", {"id": "cm-x", "body": "?"}))
    assert orphan.status_code == 400 and orphan.json()["field"] == "data.issueId"
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.filter(source=source).count() == 2 and not Ticket.objects.exists()
