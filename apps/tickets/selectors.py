"""Read paths of the inbox: scoped accessors and the ticket rows of the unified inbox (apps/tickets/inbox.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.contrib.postgres.search import SearchQuery
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.accounts.models import Membership, Role, User
from apps.core.http import ClientRequest
from apps.core.secrets import unseal_json
from apps.tickets import inbox
from apps.tickets.inbox import InboxFilters, InboxRow, Position
from apps.tickets.models import (
    Attachment,
    Message,
    QuarantinedPayload,
    Status,
    Ticket,
    TicketPush,
    TicketSource,
)
from tenants.models import Client

ROW_FIELDS = (
    "id",
    "title",
    "status",
    "priority",
    "sla_due_at",
    "assignee_id",
    "tags",
    "updated_at",
    "created_at",
    "source__id",
    "source__name",
    "source__kind",
    "contact__id",
    "contact__name",
    "contact__email",
    "contact__external_id",  # Contact.label falls back to it: deferred, it would cost a query per row
)


def get_ticket_for_client(request: ClientRequest, ticket_id: UUID) -> Ticket:
    """Scoped accessor: the ticket in the current client's schema (the only one this request can see)."""
    return get_object_or_404(Ticket.objects.live().select_related("source", "contact"), pk=ticket_id)


def get_attachment_for_client(request: ClientRequest, attachment_id: UUID) -> Attachment:
    return get_object_or_404(
        Attachment.objects.select_related("message__ticket"),
        pk=attachment_id,
        message__ticket__deleted_at=None,
        error="",  # a file that could not be downloaded has nothing to serve
    )


def get_push_for_ticket(ticket: Ticket, push_id: UUID) -> TicketPush:
    return get_object_or_404(TicketPush, pk=push_id, ticket=ticket)


def get_quarantined_for_client(request: ClientRequest, payload_id: UUID) -> QuarantinedPayload:
    return get_object_or_404(QuarantinedPayload.objects.select_related("source"), pk=payload_id)


def assignable_people(client: Any) -> list[User]:
    """Agents and admins of the client: who a ticket can be assigned to."""
    return [
        m.user
        for m in Membership.objects.filter(client=client, role__in=[Role.ADMIN, Role.AGENT])
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]


def check_assignee(client: Any, assignee_id: UUID | None) -> None:
    if (
        assignee_id is not None
        and not Membership.objects.filter(
            client=client, user_id=assignee_id, role__in=[Role.ADMIN, Role.AGENT]
        ).exists()
    ):
        raise Http404("That person is not an agent or admin of this client.")


def attach_people(tickets: Iterable[Ticket]) -> None:
    """Set ``assignee_name`` on each ticket with one query to the public users table."""
    items = list(tickets)
    ids = {t.assignee_id for t in items if t.assignee_id}
    names = (
        {u.pk: u.display_name for u in User.objects.filter(pk__in=ids).only("id", "full_name", "email")} if ids else {}
    )
    for ticket in items:
        ticket.assignee_name = names.get(ticket.assignee_id, "") if ticket.assignee_id else ""  # type: ignore[attr-defined]


def filtered_tickets(filters: InboxFilters, *, user_id: UUID | None) -> QuerySet[Ticket]:
    qs: QuerySet[Ticket] = Ticket.objects.live()
    if filters.status == "active":
        qs = qs.exclude(status__in=[Status.SOLVED, Status.CLOSED])
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.source_id:
        qs = qs.filter(source_id=filters.source_id)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user_id)
    elif filters.assignee == "none":
        qs = qs.filter(assignee_id__isnull=True)
    elif filters.assignee:
        try:
            qs = qs.filter(assignee_id=UUID(filters.assignee))
        except ValueError:
            qs = qs.none()
    if filters.q:
        qs = qs.filter(search=SearchQuery(filters.q, config="english", search_type="websearch"))
    facets = {facet.key: facet for facet in inbox.ticket_facets()}
    for key, value in filters.facets:
        qs = facets[key].narrow(qs, value)
    return qs


class TicketRows:
    """The inbox's ticket rows (``apps.tickets.inbox.RowProvider``): two queries per page, whatever the count."""

    kind = "ticket"
    template = "tickets/inbox.html#row"
    page_template = ""
    source_options: list[tuple[str, str]] = []  # ticket sources are listed by the inbox view itself
    status_options: list[tuple[str, str]] = []

    def accepts(self, filters: InboxFilters) -> bool:
        """Filters another provider added (a "chat" source, a "needs_human" status) match no ticket."""
        return (not filters.source or filters.source_id is not None) and filters.status in {
            *Status.values,
            "active",
            "",
        }

    def rows(
        self, filters: InboxFilters, *, user_id: UUID | None, before: Position | None, limit: int
    ) -> list[InboxRow]:
        if not self.accepts(filters):
            return []
        qs = filtered_tickets(filters, user_id=user_id).select_related("source", "contact").only(*ROW_FIELDS)
        if before:
            stamp, pk = before
            qs = qs.filter(Q(updated_at__lt=stamp) | Q(updated_at=stamp, id__lt=pk))
        tickets = list(qs.order_by("-updated_at", "-id")[:limit])
        attach_people(tickets)
        annotate_facets(tickets)
        return [self.row_of(ticket) for ticket in tickets]

    def row_of(self, ticket: Ticket) -> InboxRow:
        return InboxRow(kind=self.kind, pk=ticket.pk, at=ticket.updated_at, template=self.template, item=ticket)

    def live_tokens(self, filters: InboxFilters) -> list[str]:
        return ["ticket"] if self.accepts(filters) else []


def inbox_row(ticket_id: UUID) -> InboxRow | None:
    ticket = Ticket.objects.live().select_related("source", "contact").only(*ROW_FIELDS).filter(pk=ticket_id).first()
    if ticket is None:
        return None
    attach_people([ticket])
    annotate_facets([ticket])
    return TicketRows().row_of(ticket)


def annotate_facets(tickets: list[Ticket]) -> None:
    if tickets:
        for facet in inbox.ticket_facets():
            facet.annotate(tickets)


def thread(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.prefetch_related("attachments").order_by("created_at", "id"))


def sources() -> list[TicketSource]:
    return list(TicketSource.objects.order_by("name"))


def open_quarantine_count() -> int:
    return QuarantinedPayload.objects.filter(resolved=False).count()


def source_config(*, client: Client, source: TicketSource) -> dict[str, Any]:
    """A source's settings and credentials, unsealed with the client's data key."""
    if not source.sealed_config:
        return {}
    return unseal_json(client, source.sealed_config, purpose=source.secret_purpose)
