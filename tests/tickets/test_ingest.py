"""Ingestion is idempotent and lossless; the lifecycle and the search column hold."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.postgres.search import SearchQuery

from apps.tickets import services
from apps.tickets.lifecycle import TransitionError
from apps.tickets.models import Contact, Message, QuarantinedPayload, Status, Ticket
from apps.tickets.normalized import (
    NormalizedAttachment,
    NormalizedContact,
    NormalizedMessage,
    NormalizedTicket,
)

pytestmark = pytest.mark.django_db


def _ticket(external_id: str = "T-1", *messages: NormalizedMessage, **fields: Any) -> NormalizedTicket:
    return NormalizedTicket(
        external_id=external_id,
        title=fields.pop("title", "Printer on floor 3 is offline"),
        body=fields.pop("body", "Nobody can print since this morning."),
        contact=fields.pop("contact", NormalizedContact(email="Dana@Client.example", name="Dana")),
        messages=messages or (NormalizedMessage(external_id="m-1", body="Nobody can print since this morning."),),
        **fields,
    )


def test_same_ticket_twice_is_one_ticket(make_source: Any, in_hartwell: Any) -> None:
    source = make_source()
    first = services.ingest_ticket(source=source, normalized=_ticket())
    again = services.ingest_ticket(source=source, normalized=_ticket())
    assert first.created and not again.created
    assert first.ticket.pk == again.ticket.pk
    assert again.new_messages == []
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert Contact.objects.get().email == "dana@client.example"


def test_an_update_appends_only_new_messages_and_applies_fields(make_source: Any, in_hartwell: Any) -> None:
    source = make_source()
    services.ingest_ticket(source=source, normalized=_ticket())
    due = datetime(2030, 1, 1, tzinfo=UTC)
    update = _ticket(
        "T-1",
        NormalizedMessage(external_id="m-1", body="Nobody can print since this morning."),
        NormalizedMessage(external_id="m-2", body="Still broken after restart."),
        priority="high",
        sla_due_at=due,
        tags=("printing",),
    )
    result = services.ingest_ticket(source=source, normalized=update)
    assert [m.body for m in result.new_messages] == ["Still broken after restart."]
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.sla_due_at, ticket.tags) == ("high", due, ["printing"])
    assert ticket.messages.count() == 2


def test_messages_without_ids_are_deduplicated_by_content(make_source: Any, in_hartwell: Any) -> None:
    source = make_source()
    stamp = datetime(2030, 1, 1, 9, tzinfo=UTC)
    message = NormalizedMessage(external_id="", body="hello", author_label="Dana", created_at=stamp)
    services.ingest_ticket(source=source, normalized=_ticket("T-9", message))
    services.ingest_ticket(source=source, normalized=_ticket("T-9", message))
    assert Message.objects.count() == 1
    assert Message.objects.get().created_at == stamp


def test_a_reply_joins_the_thread_it_references(make_source: Any, in_hartwell: Any) -> None:
    source = make_source(kind="email", name="Support mailbox")
    services.ingest_ticket(source=source, normalized=_ticket("<a@x>", NormalizedMessage(external_id="<a@x>", body="1")))
    Ticket.objects.update(status=Status.PENDING)
    reply = NormalizedTicket(
        external_id="<b@x>",
        title="Re: Printer",
        messages=(NormalizedMessage(external_id="<b@x>", body="2"),),
        thread_refs=("<a@x>",),
    )
    result = services.ingest_ticket(source=source, normalized=reply)
    assert not result.created
    ticket = Ticket.objects.get()
    assert ticket.title == "Printer on floor 3 is offline"  # a reply does not rename the ticket
    assert ticket.status == Status.OPEN  # the customer answered: back to the agents
    assert list(ticket.messages.values_list("body", flat=True)) == ["1", "2"]


def test_attachments_are_stored_under_the_clients_folder(make_source: Any, in_hartwell: Any, settings: Any) -> None:
    source = make_source()
    attachment = NormalizedAttachment(filename="../../etc/screen.png", content_type="image/png", content=b"\x89PNG..")
    message = NormalizedMessage(external_id="m-1", body="see screenshot", attachments=(attachment,))
    result = services.ingest_ticket(source=source, normalized=_ticket("T-2", message))
    stored = result.new_messages[0].attachments.get()
    assert stored.filename == "screen.png" and stored.size == 6 and len(stored.sha256) == 64
    assert stored.file.name.startswith(f"hartwell/tickets/{result.ticket.pk}/")
    assert stored.file.name.endswith("/screen.png")
    assert (settings.MEDIA_ROOT / stored.file.name).read_bytes() == b"\x89PNG.."


def test_quarantine_keeps_the_payload_and_its_error(make_source: Any, in_hartwell: Any) -> None:
    source = make_source()
    payload = services.quarantine(source=source, raw=b"{not json", error="not JSON", content_type="application/json")
    stored = QuarantinedPayload.objects.get(pk=payload.pk)
    assert (stored.raw, stored.error, stored.resolved) == ("{not json", "not JSON", False)


def test_status_lifecycle_is_enforced(make_source: Any, in_hartwell: Any) -> None:
    ticket = services.ingest_ticket(source=make_source(), normalized=_ticket()).ticket
    services.change_status(ticket=ticket, status=Status.SOLVED)
    with pytest.raises(TransitionError, match="cannot become pending; allowed: Open, Closed"):
        services.change_status(ticket=ticket, status=Status.PENDING)
    services.change_status(ticket=ticket, status=Status.CLOSED)
    with pytest.raises(TransitionError, match="closed is final"):
        services.change_status(ticket=ticket, status=Status.OPEN)
    assert Ticket.objects.get().status == Status.CLOSED


def test_search_column_is_maintained_by_the_database(make_source: Any, in_hartwell: Any) -> None:
    source = make_source()
    ticket = services.ingest_ticket(source=source, normalized=_ticket()).ticket
    services.ingest_ticket(source=source, normalized=_ticket("T-2", title="VPN drops", body="every hour"))
    assert list(Ticket.objects.filter(search=SearchQuery("printers", config="english"))) == [ticket]
    Ticket.objects.filter(pk=ticket.pk).update(title="Scanner jam")
    assert not Ticket.objects.filter(search=SearchQuery("printer offline", config="english")).exists()
    assert Ticket.objects.filter(search=SearchQuery("scanner", config="english")).count() == 1


def test_tags_assign_and_soft_delete(make_source: Any, in_hartwell: Any, people: dict[str, Any]) -> None:
    ticket = services.ingest_ticket(source=make_source(), normalized=_ticket()).ticket
    services.set_tags(ticket=ticket, tags=["VIP", " printing ", "vip"])
    services.assign(ticket=ticket, assignee_id=people["bob"].pk)
    ticket.refresh_from_db()
    assert ticket.tags == ["printing", "vip"] and ticket.assignee_id == people["bob"].pk
    services.soft_delete(ticket=ticket)
    assert not Ticket.objects.live().exists() and Ticket.objects.count() == 1


def test_sla_in_the_past_is_kept(make_source: Any, in_hartwell: Any) -> None:
    past = datetime.now(UTC) - timedelta(hours=3)
    ticket = services.ingest_ticket(source=make_source(), normalized=_ticket(sla_due_at=past)).ticket
    assert ticket.sla_due_at == past
