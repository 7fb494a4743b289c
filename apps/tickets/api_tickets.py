"""The tickets JSON API: list, get, create, reply, update (SRC-5 for machines).

Authenticated like the rest of /api/v1/: a bearer API key of this client or a member's session.
Reading needs Viewer; writing needs Agent (checked by the auth classes). Every write goes through
apps/tickets/services.py, so the API fires the same audit rows, live events and outbound webhooks
as the inbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from apps.core.ids import uuid7
from apps.tickets import inbox, selectors, services
from apps.tickets.lifecycle import TransitionError
from apps.tickets.models import Message, Ticket, TicketSource
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

router = Router(tags=["Tickets"])
PriorityName = Literal["low", "normal", "high", "urgent"]
StatusName = Literal["new", "open", "pending", "on_hold", "solved", "closed"]


class TicketOut(Schema):
    id: UUID
    title: str
    status: str
    priority: str
    tags: list[str]
    assignee_id: UUID | None
    sla_due_at: datetime | None
    source_id: UUID
    contact_email: str
    contact_name: str
    created_at: datetime
    updated_at: datetime


class MessageOut(Schema):
    id: UUID
    direction: str
    kind: str
    author_label: str
    body: str
    delivery_state: str
    created_at: datetime


class PushOut(Schema):
    field: str = Field(description="status, priority, tags or assignee")
    state: str = Field(description="queued, sending, sent or failed (failed: see error; the inbox offers Retry)")
    error: str
    version: int = Field(description="How many times this field was changed in Gaby")
    pushed_version: int = Field(description="The last version the help desk confirmed")


class TicketDetail(TicketOut):
    body: str
    external_id: str
    messages: list[MessageOut]
    writeback: list[PushOut] = Field(description="Changes pushed to the ticket's help desk, one per field")


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str = Field(description="Pass as `after` for the next page; empty on the last page.")


class TicketFilters(Schema):
    status: str = Field("active", description="A status, `active` (not solved or closed) or empty for all.")
    source: UUID | None = None
    priority: str = ""
    assignee: str = Field("", max_length=64, description="`none`, or a user id.")
    q: str = Field("", max_length=1000, description="Full-text search (web search syntax) over title and body.")
    after: str = Field("", max_length=200, description="The `next_cursor` of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class TicketIn(Schema):
    source_id: UUID = Field(description="The source the ticket belongs to (see GET /sources in the UI).")
    title: str = Field(min_length=1, max_length=500)
    body: str = Field("", max_length=500_000)
    contact_email: str = Field("", max_length=254)
    contact_name: str = Field("", max_length=200)
    priority: PriorityName | None = None
    tags: list[Annotated[str, Field(max_length=100)]] = Field([], max_length=50)
    external_id: str = Field(
        "", max_length=300, description="Your id for it; sending it again updates, never duplicates."
    )


class ReplyIn(Schema):
    body: str = Field(min_length=1, max_length=50_000)
    kind: Literal["public_reply", "internal_note"] = "public_reply"


class TicketPatch(Schema):
    status: StatusName | None = None
    priority: PriorityName | None = None
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=50)
    assignee_id: UUID | None = Field(None, description="null unassigns (when sent explicitly).")


class Problem(Schema):
    detail: str


def _out(ticket: Ticket) -> dict[str, Any]:
    contact = ticket.contact
    return {
        **{name: getattr(ticket, name) for name in ("id", "title", "status", "priority", "tags", "assignee_id")},
        "sla_due_at": ticket.sla_due_at,
        "source_id": ticket.source_id,
        "contact_email": contact.email if contact else "",
        "contact_name": contact.name if contact else "",
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def _detail(ticket: Ticket) -> dict[str, Any]:
    messages = [{name: getattr(m, name) for name in MessageOut.model_fields} for m in selectors.thread(ticket)]
    pushes = [{name: getattr(p, name) for name in PushOut.model_fields} for p in ticket.pushes.order_by("field")]
    return {
        **_out(ticket),
        "body": ticket.body,
        "external_id": ticket.external_id,
        "messages": messages,
        "writeback": pushes,
    }


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]  # the signed-in user or the API key's principal


@router.get("/tickets", response=TicketPage, summary="List tickets, newest activity first")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> dict[str, Any]:
    parsed = inbox.InboxFilters.from_query({k: str(v) for k, v in filters.dict(exclude_none=True).items()})
    page = inbox.inbox_page(parsed, user_id=None, after=filters.after, size=filters.limit, kinds={"ticket"})
    return {"items": [_out(row.item) for row in page.rows], "next_cursor": page.next_cursor}


@router.get("/tickets/{ticket_id}", response={200: TicketDetail, 404: Problem}, summary="A ticket with its thread")
def get_ticket(request: HttpRequest, ticket_id: UUID) -> dict[str, Any]:
    return _detail(selectors.get_ticket_for_client(request, ticket_id))  # type: ignore[arg-type]


@router.post("/tickets", response={201: TicketDetail, 200: TicketDetail, 404: Problem}, summary="Create a ticket")
def create_ticket(request: HttpRequest, data: TicketIn) -> Status[dict[str, Any]]:
    source = get_object_or_404(TicketSource, pk=data.source_id)
    external_id = data.external_id or f"api:{uuid7()}"
    first = NormalizedMessage(external_id=f"{external_id}#body", body=data.body, author_label=data.contact_email)
    normalized = NormalizedTicket(
        external_id=external_id,
        title=data.title,
        body=data.body,
        contact=NormalizedContact(email=data.contact_email, name=data.contact_name) if data.contact_email else None,
        priority=data.priority,
        tags=tuple(data.tags),
        messages=(first,) if data.body else (),
    )
    result = services.ingest_ticket(source=source, normalized=normalized)
    ticket = selectors.get_ticket_for_client(request, result.ticket.pk)  # type: ignore[arg-type]
    return Status(201 if result.created else 200, _detail(ticket))


@router.post(
    "/tickets/{ticket_id}/messages",
    response={201: MessageOut, 400: Problem, 404: Problem},
    summary="Reply to the customer or add an internal note",
    description="A public reply is written back to the ticket's source (email, help desk) by a background task.",
)
def reply(request: HttpRequest, ticket_id: UUID, data: ReplyIn) -> Status[Any]:
    ticket = selectors.get_ticket_for_client(request, ticket_id)  # type: ignore[arg-type]
    try:
        message: Message = services.reply(ticket=ticket, body=data.body, kind=data.kind, author=_actor(request))
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, {name: getattr(message, name) for name in MessageOut.model_fields})


@router.patch(
    "/tickets/{ticket_id}",
    response={200: TicketDetail, 400: Problem, 404: Problem},
    summary="Change status, priority, tags or assignee",
)
def update_ticket(request: HttpRequest, ticket_id: UUID, data: TicketPatch) -> Status[Any]:
    ticket = selectors.get_ticket_for_client(request, ticket_id)  # type: ignore[arg-type]
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    changes = {k: v for k, v in changes.items() if v is not None or k == "assignee_id"}
    try:
        with transaction.atomic():
            services.update_ticket(client=request.tenant, ticket=ticket, changes=changes, actor=_actor(request))  # type: ignore[attr-defined]
    except (TransitionError, ValueError) as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, _detail(selectors.get_ticket_for_client(request, ticket_id)))  # type: ignore[arg-type]
