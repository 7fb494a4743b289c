"""Past resolved tickets as knowledge (KB-2): each solved or closed ticket with a public answer is one document.

The document is the ticket's title, the customer's question (the ticket body, else its first inbound
message) and the final public reply, redacted with the client's compliance profile before anything is
stored or embedded, and it cites the ticket in the inbox. Entries carry the ticket's ``updated_at``
and are marked ``trust_last_modified``: a later sync skips an unchanged ticket without rebuilding its
text, so re-syncing thousands of old tickets costs one query. A ticket that is reopened, deleted or
loses its public reply leaves the index at the next sync.

Config: ``{"statuses": ["solved", "closed"], "sources": [<ticket source id>, ...]}`` (both optional).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery

from apps.core.compliance import profile_for
from apps.knowledge.readers.base import Entry
from apps.tickets.models import Direction, Message, MessageKind, Status, Ticket
from tenants.addresses import client_url

RESOLVED = (Status.SOLVED, Status.CLOSED)


@dataclass(frozen=True)
class TicketsReader:
    statuses: tuple[str, ...] = RESOLVED
    sources: tuple[UUID, ...] = ()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TicketsReader:
        statuses = tuple(s for s in config.get("statuses") or RESOLVED if s in Status.values)
        return cls(statuses=statuses or RESOLVED, sources=tuple(UUID(str(s)) for s in config.get("sources") or ()))

    def tickets(self) -> Any:
        answers = Message.objects.filter(
            ticket=OuterRef("pk"), direction=Direction.OUTBOUND, kind=MessageKind.PUBLIC_REPLY
        ).order_by("-created_at", "-id")
        qs = (
            Ticket.objects.live()
            .filter(status__in=self.statuses)
            .annotate(answer_id=Subquery(answers.values("id")[:1]))
            .filter(answer_id__isnull=False)
            .only("id", "title", "updated_at")
        )
        if self.sources:
            qs = qs.filter(source_id__in=self.sources)
        return qs.order_by("updated_at", "id")

    def entries(self) -> Iterator[Entry]:
        client = connection.tenant  # type: ignore[attr-defined]
        base = client_url(client, scheme="https" if settings.HTTPS else "http", port=settings.PUBLIC_PORT)
        redactor = profile_for(client).redactor
        for ticket in self.tickets().iterator(chunk_size=500):
            ticket_id, answer_id = ticket.pk, ticket.answer_id

            def read(ticket_id: Any = ticket_id, answer_id: Any = answer_id) -> bytes:
                return ticket_markdown(ticket_id, answer_id, redact=lambda text: redactor.redact(text).text)

            yield Entry(
                uri=f"ticket/{ticket.pk}",
                name=f"{ticket.pk}.md",
                read=read,
                source_url=f"{base}inbox/t/{ticket.pk}/",
                last_modified=ticket.updated_at,
                title=redactor.redact(ticket.title).text,
                trust_last_modified=True,
            )


def ticket_markdown(ticket_id: Any, answer_id: Any, *, redact: Any) -> bytes:
    ticket = Ticket.objects.select_related("source").get(pk=ticket_id)
    question = ticket.body.strip()
    if not question:
        first = ticket.messages.filter(direction=Direction.INBOUND).order_by("created_at", "id").first()
        question = first.body.strip() if first else ""
    answer = Message.objects.get(pk=answer_id).body.strip()
    resolved = ticket.updated_at.date().isoformat()
    text = (
        f"# {ticket.title}\n\n## Question\n\n{question or '(no description)'}\n\n## Resolution\n\n{answer}\n\n"
        f"_Resolved ticket from {ticket.source.name}, {resolved}._\n"
    )
    return str(redact(text)).encode()
