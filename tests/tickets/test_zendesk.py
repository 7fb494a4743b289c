"""Zendesk against recorded API exchanges: incremental pull into PostgreSQL, webhooks, write-back."""

import base64
import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.base import SourceError, UnsupportedOperation
from apps.tickets.sources.vendor import hmac_sha256
from apps.tickets.sources.zendesk.adapter import ZendeskAdapter
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db
SECRET = "zd-signing-secret"


def config(url: str) -> dict[str, Any]:
    return {"base_url": url, "email": "agent@hartwell.example", "api_token": "zd-token-1", "webhook_secret": SECRET}


def test_a_poll_pages_through_the_export_and_comments_into_tickets(make_source: Any, hartwell: Any) -> None:
    with replaying("zendesk", "pull") as server:
        source = make_source(kind="zendesk", name="Zendesk", **config(server.url))
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        server.check()
    assert (result.status, result.created, result.quarantined, result.skipped) == ("ok", 2, 1, {"deleted": 1})
    # The 429 and the 503 were answered again by the seam, not turned into failures.
    assert [s["path"] for s in server.seen].count("/api/v2/incremental/tickets/cursor.json") == 3
    with tenant_context(hartwell):
        vpn = Ticket.objects.get(source=source, external_id="101")
        assert (vpn.title, vpn.status, vpn.priority, vpn.tags) == (
            "VPN drops every hour",
            "open",
            "high",
            ["vpn", "network"],
        )
        assert vpn.contact is not None and vpn.contact.email == "dana@acme.example"
        thread = [(m.external_id, m.direction, m.kind, m.author_label) for m in vpn.messages.all()]
        assert thread == [
            ("5001", "inbound", "public_reply", "Dana Customer"),
            ("5002", "outbound", "internal_note", "Sam Agent"),
            ("5003", "outbound", "public_reply", "Sam Agent"),
        ]
        printer = Ticket.objects.get(source=source, external_id="103")
        assert (printer.status, printer.priority) == ("pending", "normal")
        kept = QuarantinedPayload.objects.get(source=source)
        assert "not-a-number" in kept.raw and "is not a number" in kept.error
        assert TicketSource.objects.get(pk=source.pk).cursor == {"after_cursor": "MTYwMDAwMDEwMC4wfHwxMDN8"}

    with replaying("zendesk", "update") as server, tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config=config(server.url))
        again = polling.poll(source.pk)
        server.check()
        assert (again.created, again.updated, again.new_messages) == (0, 1, 1)
        vpn.refresh_from_db()
        assert vpn.status == "solved" and vpn.tags == ["vpn", "network", "client-5-2"]
        assert vpn.messages.count() == 4 and Ticket.objects.filter(source=source).count() == 2


def test_the_seam_waits_as_zendesk_asks(make_source: Any) -> None:
    with replaying("zendesk", "pull") as server:
        adapter = ZendeskAdapter(source_id="x", config=config(server.url))
        first = adapter.pull_since({})
        second = adapter.pull_since(first.cursor)
        server.check()
    assert adapter.http.waits == [1.0, 0.5]  # Retry-After: 1, then the first 5xx backoff step
    assert first.has_more and not second.has_more and len(first.rejected) == 1


def test_a_malformed_answer_fails_the_poll_visibly_and_the_next_poll_recovers(make_source: Any, hartwell: Any) -> None:
    with replaying("zendesk", "malformed") as server:
        source = make_source(kind="zendesk", name="Zendesk", **config(server.url))
        with tenant_context(hartwell):
            failed = polling.poll(source.pk)
            stored = TicketSource.objects.get(pk=source.pk)
            assert failed.status == "failed" and "not JSON" in stored.last_error and stored.consecutive_failures == 1
            TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
            assert polling.poll(source.pk).status == "ok"
            stored.refresh_from_db()
            assert stored.last_error == "" and stored.consecutive_failures == 0
        server.check()


def test_replies_notes_and_ticket_changes_are_written_back(make_source: Any, hartwell: Any, people: Any) -> None:
    with replaying("zendesk", "writes") as server:
        source = make_source(kind="zendesk", name="Zendesk", **config(server.url))
        with tenant_context(hartwell):
            ticket = services.ingest_ticket(source=source, normalized=NormalizedTicket("101", "VPN drops")).ticket
            reply = services.reply(
                ticket=ticket, body="Could you send the client log?", kind="public_reply", author=people["bob"]
            )
            note = services.reply(
                ticket=ticket, body="Looks like the MTU again.", kind="internal_note", author=people["bob"]
            )
            assert delivery.deliver(reply.pk) == "sent" and delivery.deliver(note.pk) == "sent"
            assert delivery.deliver(reply.pk) == "not-queued"  # a retried task never writes twice
            sent = {m.kind: (m.delivery_state, m.external_id) for m in Message.objects.filter(ticket=ticket)}
            assert sent == {"public_reply": (DeliveryState.SENT, "5005"), "internal_note": (DeliveryState.SENT, "5006")}
        adapter = ZendeskAdapter(source_id=str(source.pk), config=config(server.url))
        adapter.update_status("101", "on_hold")
        adapter.update_priority("101", "urgent")
        adapter.update_tags("101", ["network", "vpn"])
        adapter.assign("101", "sam@hartwell.example")
        with pytest.raises(SourceError, match="answered 404"):
            adapter.update_status("999", "closed")
        server.check()
    assert server.seen[0]["headers"]["Idempotency-Key"] == str(reply.pk)
    with pytest.raises(UnsupportedOperation, match="no time-entry API"):
        adapter.log_time_entry("101", minutes=30, note="", billable=True)


def signed(body: bytes, *, secret: str = SECRET, stamp: str = "2026-11-16T10:05:00Z") -> dict[str, str]:
    signature = base64.b64encode(hmac_sha256(secret, stamp.encode() + body)).decode()
    return {"HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": signature, "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP": stamp}


def test_a_signed_webhook_reads_the_ticket_and_ingests_it_once(as_user: Any, make_source: Any, hartwell: Any) -> None:
    body = json.dumps({"ticket_id": "101", "event": "ticket.updated"}).encode()
    with replaying("zendesk", "webhook", "webhook") as server:
        source = make_source(kind="zendesk", name="Zendesk", **config(server.url))
        url = f"/api/v1/sources/{source.pk}/webhook/zendesk"
        first = as_user(None, "hartwell").post(url, body, content_type="application/json", **signed(body))
        again = as_user(None, "hartwell").post(url, body, content_type="application/json", **signed(body))
        server.check()
    assert first.status_code == 200, first.content
    assert first.json()["created"] is True and again.json()["created"] is False and again.json()["new_messages"] == 0
    with tenant_context(hartwell):
        assert Ticket.objects.filter(source=source).count() == 1 and Message.objects.count() == 1


def test_webhook_signature_and_body_problems_are_4xx_that_say_what_is_wrong(
    as_user: Any, make_source: Any, hartwell: Any, dearborn: Any
) -> None:
    source = make_source(kind="zendesk", name="Zendesk", **config("http://127.0.0.1:9"))
    url = f"/api/v1/sources/{source.pk}/webhook/zendesk"
    client = as_user(None, "hartwell")
    body = b'{"ticket_id": 101}'
    missing = client.post(url, body, content_type="application/json")
    assert missing.status_code == 401 and "Missing X-Zendesk-Webhook-Signature" in missing.json()["detail"]
    wrong = client.post(url, body, content_type="application/json", **signed(body, secret="other"))
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
    tampered = client.post(url, b'{"ticket_id": 102}', content_type="application/json", **signed(body))
    assert tampered.status_code == 401
    no_id = b'{"hello": "world"}'
    bad = client.post(url, no_id, content_type="application/json", **signed(no_id))
    assert bad.status_code == 400 and bad.json()["field"] == "ticket_id" and "{{ticket.id}}" in bad.json()["detail"]
    broken = b'{"ticket_id": '
    assert client.post(url, broken, content_type="application/json", **signed(broken)).json()["field"] == "(body)"
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.filter(source=source).count() == 2 and not Ticket.objects.exists()
    # Another client's domain does not know this source; a kind that is not a help desk is no webhook.
    assert as_user(None, "dearborn").post(url, body, content_type="application/json", **signed(body)).status_code == 404
    generic = client.post(f"/api/v1/sources/{source.pk}/webhook/email", body, content_type="application/json")
    assert generic.status_code == 404 and "known:" in generic.json()["detail"]


def test_a_help_desk_on_an_internal_address_is_refused_and_not_contacted(
    make_source: Any, hartwell: Any, settings: Any
) -> None:
    """Help-desk base URLs obey the outbound-URL policy (issue 18, item 1): no request reaches the address."""
    with replaying("zendesk", "pull") as server:
        source = make_source(kind="zendesk", name="Zendesk", **config(server.url))
        settings.OUTBOUND_ALLOW = []  # the production default; the test profile allows loopback
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        assert server.seen == []
    assert result.status == "failed" and "a loopback address" in result.error and "GABY_OUTBOUND_ALLOW" in result.error
