"""Freshdesk against recorded API exchanges: paged pull into PostgreSQL, shared-secret webhooks, write-back."""

import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.base import SourceError
from apps.tickets.sources.freshdesk.adapter import FreshdeskAdapter
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db
SECRET = "fd-shared-secret-0123456789"


def config(url: str) -> dict[str, Any]:
    return {"base_url": url, "api_key": "fd-key-1", "webhook_secret": SECRET}


def test_a_poll_pages_tickets_and_conversations_into_postgres(make_source: Any, hartwell: Any) -> None:
    with replaying("freshdesk", "pull") as server:
        source = make_source(kind="freshdesk", name="Freshdesk", **config(server.url))
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        server.check()
    assert (result.status, result.created, result.quarantined) == ("ok", 2, 1)
    with tenant_context(hartwell):
        outlook = Ticket.objects.get(source=source, external_id="201")
        assert (outlook.status, outlook.priority, outlook.tags) == ("open", "high", ["m365", "outlook"])
        assert outlook.contact is not None and outlook.contact.name == "Ravi Patel"
        thread = [(m.external_id, m.direction, m.kind, m.body) for m in outlook.messages.all()]
        assert thread == [
            ("ticket-201", "inbound", "public_reply", "Since this morning Outlook prompts again and again."),
            ("6001", "outbound", "public_reply", "Could you try signing out of Office?"),
            ("6002", "outbound", "internal_note", "MFA reset pending in Entra."),
            ("6003", "inbound", "public_reply", "Did that, still prompting."),
        ]
        printer = Ticket.objects.get(source=source, external_id="203")
        assert (printer.status, printer.priority) == ("on_hold", "low")  # 7 Waiting on Third Party, 1 Low
        assert "unknown priority 9" in QuarantinedPayload.objects.get(source=source).error
        assert TicketSource.objects.get(pk=source.pk).cursor == {"since": "2026-11-16T10:30:00Z"}
    # The 429 and the 502 were retried by the seam.
    assert [s["path"] for s in server.seen].count("/api/v2/tickets") == 3

    with replaying("freshdesk", "update") as server, tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config=config(server.url))
        again = polling.poll(source.pk)
        server.check()
        assert (again.created, again.updated, again.new_messages) == (0, 1, 1)
        outlook.refresh_from_db()
        assert outlook.status == "solved" and outlook.messages.count() == 5
        assert Ticket.objects.filter(source=source).count() == 2


def test_a_malformed_page_fails_the_poll_with_its_reason(make_source: Any, hartwell: Any) -> None:
    with replaying("freshdesk", "malformed") as server:
        source = make_source(kind="freshdesk", name="Freshdesk", **config(server.url))
        with tenant_context(hartwell):
            assert polling.poll(source.pk).status == "failed"
            stored = TicketSource.objects.get(pk=source.pk)
            assert "not JSON" in stored.last_error and stored.cursor == {}
        server.check()


def test_replies_notes_changes_assignment_and_time_are_written_back(
    make_source: Any, hartwell: Any, people: Any
) -> None:
    with replaying("freshdesk", "writes") as server:
        source = make_source(kind="freshdesk", name="Freshdesk", **config(server.url))
        with tenant_context(hartwell):
            ticket = services.ingest_ticket(source=source, normalized=NormalizedTicket("201", "Outlook")).ticket
            reply = services.reply(
                ticket=ticket, body="Please restart Outlook.", kind="public_reply", author=people["bob"]
            )
            note = services.reply(
                ticket=ticket, body="Token cache was stale.", kind="internal_note", author=people["bob"]
            )
            assert [delivery.deliver(reply.pk), delivery.deliver(note.pk)] == ["sent", "sent"]
            states = sorted(Message.objects.filter(ticket=ticket).values_list("delivery_state", "external_id"))
            assert states == [(DeliveryState.SENT, "7001"), (DeliveryState.SENT, "7002")]
        adapter = FreshdeskAdapter(source_id=str(source.pk), config=config(server.url))
        adapter.update_status("201", "on_hold")
        adapter.update_priority("201", "urgent")
        adapter.update_tags("201", ["m365", "mfa"])
        adapter.assign("201", "sam@hartwell.example")
        with pytest.raises(SourceError, match="no agent with the email nobody@"):
            adapter.assign("201", "nobody@hartwell.example")
        adapter.log_time_entry("201", minutes=90, note="Remote session", billable=True)
        with pytest.raises(SourceError, match="answered 404"):
            adapter.update_status("999", "solved")
        server.check()


def post(client: Any, source: Any, body: bytes, secret: str | None = SECRET) -> Any:
    headers = {"HTTP_X_GABY_WEBHOOK_SECRET": secret} if secret is not None else {}
    return client.post(
        f"/api/v1/sources/{source.pk}/webhook/freshdesk", body, content_type="application/json", **headers
    )


def test_a_webhook_with_the_shared_secret_ingests_the_ticket(as_user: Any, make_source: Any, hartwell: Any) -> None:
    body = json.dumps({"freshdesk_webhook": {"ticket_id": "201", "ticket_status": "Open"}}).encode()
    with replaying("freshdesk", "webhook", "webhook") as server:
        source = make_source(kind="freshdesk", name="Freshdesk", **config(server.url))
        client = as_user(None, "hartwell")
        first, again = post(client, source, body), post(client, source, body)
        server.check()
    assert first.status_code == 200, first.content
    assert (first.json()["created"], again.json()["created"], again.json()["new_messages"]) == (True, False, 0)
    with tenant_context(hartwell):
        assert Ticket.objects.filter(source=source).count() == 1


def test_webhook_secret_and_body_problems_are_explained(as_user: Any, make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="freshdesk", name="Freshdesk", **config("http://127.0.0.1:9"))
    client = as_user(None, "hartwell")
    body = b'{"ticket_id": "201"}'
    missing = post(client, source, body, secret=None)
    assert missing.status_code == 401 and "add it to the automation rule" in missing.json()["detail"]
    assert post(client, source, body, secret="guess").status_code == 401
    bad = post(client, source, b'{"ticket": "201"}')
    assert bad.status_code == 400 and bad.json()["field"] == "ticket_id"
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.filter(source=source).count() == 1
