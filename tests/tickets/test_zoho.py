"""Zoho Desk against recorded API exchanges: OAuth refresh, modifiedTime pull into PostgreSQL, write-back."""

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.normalized import NormalizedContact, NormalizedTicket
from apps.tickets.sources.base import UnsupportedOperation
from apps.tickets.sources.zoho.adapter import ZohoDeskAdapter
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db


def config(url: str) -> dict[str, Any]:
    return {
        "base_url": url,
        "accounts_url": url,
        "org_id": "6482519",
        "client_id": "1000.CLIENTID",
        "client_secret": "zoho-client-secret",
        "refresh_token": "1000.refresh.zzz",
        "from_email": "help@hartwell.example",
        "page_size": 2,
    }


def test_a_poll_refreshes_the_token_and_walks_tickets_newest_first(make_source: Any, hartwell: Any) -> None:
    with replaying("zoho", "pull") as server:
        source = make_source(kind="zoho", name="Zoho Desk", **config(server.url))
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        server.check()
    assert (result.status, result.created, result.quarantined) == ("ok", 2, 1), result
    with tenant_context(hartwell):
        payslips = Ticket.objects.get(source=source, external_id="3001")
        assert (payslips.status, payslips.priority, payslips.contact.name) == ("open", "high", "Nora Payroll")
        assert payslips.body == "Payslips come out blank on the HP LaserJet in accounting."
        thread = [(m.external_id, m.direction, m.body) for m in payslips.messages.all()]
        assert thread == [
            ("thread-5001", "inbound", "Payslips come out blank on the HP LaserJet in accounting."),
            ("thread-5002", "outbound", "Which printer model is it?"),
        ]
        laptop = Ticket.objects.get(source=source, external_id="3003")
        assert (laptop.status, laptop.priority) == ("on_hold", "normal")
        note = laptop.messages.get()
        assert (note.external_id, note.kind) == ("comment-8001", "internal_note")
        assert "not Zoho's numeric string" in QuarantinedPayload.objects.get(source=source).error
        assert not Ticket.objects.filter(external_id="2999").exists()  # older than the cursor: never read
        assert TicketSource.objects.get(pk=source.pk).cursor == {"since": "2026-11-16T12:00:00Z"}

    with replaying("zoho", "update") as server, tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config=config(server.url))
        again = polling.poll(source.pk)
        server.check()
        assert (again.created, again.updated, again.new_messages) == (0, 1, 1)
        payslips.refresh_from_db()
        assert payslips.status == "on_hold" and payslips.messages.count() == 3


def test_a_refused_refresh_token_shows_on_the_source(make_source: Any, hartwell: Any) -> None:
    with replaying("zoho", "refused") as server:
        source = make_source(kind="zoho", name="Zoho Desk", **config(server.url))
        with tenant_context(hartwell):
            assert polling.poll(source.pk).status == "failed"
            assert "refused the refresh token (invalid_code)" in TicketSource.objects.get(pk=source.pk).last_error
        server.check()


def test_replies_comments_changes_and_time_are_written_back(make_source: Any, hartwell: Any, people: Any) -> None:
    with replaying("zoho", "writes") as server:
        source = make_source(kind="zoho", name="Zoho Desk", **config(server.url))
        with tenant_context(hartwell):
            contact = NormalizedContact(email="nora@acme.example")
            normalized = NormalizedTicket("3001", "Cannot print payslips", contact=contact)
            ticket = services.ingest_ticket(source=source, normalized=normalized).ticket
            bob = people["bob"]
            reply = services.reply(ticket=ticket, body="Please try the PCL6 driver.", kind="public_reply", author=bob)
            note = services.reply(ticket=ticket, body="Driver 7.1 is known bad.", kind="internal_note", author=bob)
            assert [delivery.deliver(reply.pk), delivery.deliver(note.pk)] == ["sent", "sent"]
            states = sorted(Message.objects.filter(ticket=ticket).values_list("delivery_state", "external_id"))
            assert states == [(DeliveryState.SENT, "comment-8002"), (DeliveryState.SENT, "thread-5004")]
        adapter = ZohoDeskAdapter(source_id=str(source.pk), config=config(server.url))
        adapter.update_status("3001", "solved")
        adapter.update_priority("3001", "normal")
        adapter.assign("3001", "sam@hartwell.example")
        adapter.log_time_entry("3001", minutes=45, note="Driver swap", billable=True)
        server.check()
    entry = server.seen[-1]["json"]
    assert (entry["hoursSpent"], entry["minutesSpent"], entry["isBillable"], entry["description"]) == (
        "0",
        "45",
        True,
        "Driver swap",
    )
    with pytest.raises(UnsupportedOperation, match="Zoho keeps tags as separate records"):
        adapter.update_tags("3001", ["printing"])
