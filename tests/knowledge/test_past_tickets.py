"""KB-2: past resolved tickets as knowledge, redacted, cited, incremental on the ticket's updated_at."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.knowledge import retrieval, services
from apps.knowledge.ingestion import sync_source
from apps.knowledge.models import Chunk, Document, SourceKind
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket
from apps.tickets.normalized import NormalizedMessage, NormalizedTicket

pytestmark = pytest.mark.django_db
QUESTION = "Outlook keeps asking for my password since the move to the new tenant. Call me on +1 415 555 0134."
ANSWER = "Clear the cached credentials in Windows Credential Manager, then sign in again as dana@client.example."


def _ticket(source: Any, external_id: str, *, status: str, answer: str | None, people: Any, note: str = "") -> Ticket:
    ticket = tickets.ingest_ticket(
        source=source,
        normalized=NormalizedTicket(
            external_id=external_id,
            title=f"Outlook password prompt loop ({external_id})",
            messages=(NormalizedMessage(external_id=f"{external_id}-q", body=QUESTION, author_label="Dana"),),
        ),
    ).ticket
    if answer:
        tickets.reply(ticket=ticket, body=answer, kind="public_reply", author=people["bob"])
    if note:
        tickets.reply(ticket=ticket, body=note, kind="internal_note", author=people["bob"])
    ticket.refresh_from_db()
    tickets.change_status(ticket=ticket, status=status)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def past(in_hartwell: Any, people: Any) -> dict[str, Ticket]:
    source = tickets.create_source(client=in_hartwell, kind="webhook", name="Portal", config={"secret": "s"})
    return {
        "solved": _ticket(source, "T-1", status="solved", answer=ANSWER, people=people),
        "open": _ticket(source, "T-2", status="open", answer="Try again later.", people=people),
        "closed_no_answer": _ticket(source, "T-3", status="closed", answer=None, people=people, note="dup"),
    }


def test_resolved_tickets_with_a_public_answer_become_redacted_cited_documents(
    past: dict[str, Ticket], provider: Any
) -> None:
    source = services.create_source(kind=SourceKind.PAST_TICKETS, name="Past tickets", config={})
    report = sync_source(source, provider=provider)
    assert (report.added, report.documents_seen) == (1, 1)
    document = Document.objects.get(source=source)
    solved = past["solved"]
    assert document.uri == f"ticket/{solved.pk}"
    assert document.source_url.endswith(f"/inbox/t/{solved.pk}/") and document.source_url.startswith("http")
    text = "\n".join(Chunk.objects.filter(document=document).order_by("ordinal").values_list("text", flat=True))
    assert "Credential Manager" in text and "password since the move" in text
    # The client's compliance profile (standard: emails, phones) ran before anything was stored.
    assert "dana@client.example" not in text and "555 0134" not in text
    assert "[EMAIL_1]" in text and "[PHONE_1]" in text

    result = retrieval.search("outlook keeps asking for password", provider=provider, record_usage=False)
    assert result.hits and result.hits[0].citation.source_url.endswith(f"/inbox/t/{solved.pk}/")


def test_resync_is_incremental_on_updated_at(past: dict[str, Ticket], provider: Any, people: Any) -> None:
    source = services.create_source(kind=SourceKind.PAST_TICKETS, name="Past tickets", config={})
    sync_source(source, provider=provider)

    second = sync_source(source, provider=provider)
    assert (second.unchanged, second.updated, second.chunks_embedded) == (1, 0, 0)

    # Content changed behind the ticket's back (no updated_at bump): the sync trusts updated_at and skips it.
    Message.objects.filter(ticket=past["solved"], kind="public_reply").update(body="Something else entirely.")
    assert sync_source(source, provider=provider).unchanged == 1

    # The ticket moves (updated_at changes): it is read again; the final public reply is the newest one.
    solved = past["solved"]
    tickets.change_status(ticket=solved, status="open")
    tickets.reply(
        ticket=solved,
        body="Reinstalled the Outlook profile; fixed for good.",
        kind="public_reply",
        author=people["bob"],
    )
    solved.refresh_from_db()
    reopened = sync_source(source, provider=provider)
    assert reopened.deleted == 1  # open again: no longer resolved knowledge
    tickets.change_status(ticket=solved, status="solved")
    back = sync_source(source, provider=provider)
    assert back.added == 1
    text = " ".join(Chunk.objects.filter(source=source).values_list("text", flat=True))
    assert "Reinstalled the Outlook profile" in text and "Credential Manager" not in text


def test_a_source_can_be_limited_and_bad_config_is_refused(past: dict[str, Ticket], provider: Any) -> None:
    with pytest.raises(ValidationError, match="Unknown status"):
        services.create_source(kind=SourceKind.PAST_TICKETS, name="x", config={"statuses": ["exploded"]})
    with pytest.raises(ValidationError, match="UUIDs"):
        services.create_source(kind=SourceKind.PAST_TICKETS, name="y", config={"sources": ["nope"]})
    closed_only = services.create_source(kind=SourceKind.PAST_TICKETS, name="Closed", config={"statuses": ["closed"]})
    assert sync_source(closed_only, provider=provider).documents_seen == 0


def test_another_client_indexes_only_its_own_tickets(past: dict[str, Ticket], in_dearborn: Any, provider: Any) -> None:
    source = services.create_source(kind=SourceKind.PAST_TICKETS, name="Past tickets", config={})
    assert sync_source(source, provider=provider).documents_seen == 0
    assert not Document.objects.exists()
