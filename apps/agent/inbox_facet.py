"""The inbox's "Gaby" column and filter (``apps.tickets.inbox.TicketFacet``): what Gaby's latest investigation of
each ticket concluded, or that one is running, or that none was made."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from apps.agent.models import ACTIVE_STATUSES, Investigation, VerdictChoice
from apps.tickets.models import Ticket

INVESTIGATING, NONE = "investigating", "none"


class GabyVerdictFacet:
    key = "gaby"
    label = "Gaby"
    options = [(INVESTIGATING, "Investigating"), *VerdictChoice.choices, (NONE, "Not investigated")]
    cell_template = "agent/_inbox_verdict.html"

    def narrow(self, tickets: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
        latest = Investigation.objects.filter(ticket=OuterRef("pk")).order_by("-created_at")
        qs = tickets.annotate(
            gaby_status=Subquery(latest.values("status")[:1]), gaby_verdict=Subquery(latest.values("verdict")[:1])
        )
        if value == NONE:
            return qs.filter(gaby_status__isnull=True)
        if value == INVESTIGATING:
            return qs.filter(gaby_status__in=ACTIVE_STATUSES)
        return qs.filter(gaby_verdict=value).exclude(gaby_status__in=ACTIVE_STATUSES)

    def annotate(self, tickets: list[Ticket]) -> None:
        latest = {
            row.ticket_id: row
            for row in Investigation.objects.filter(ticket__in=[t.pk for t in tickets])
            .order_by("ticket_id", "-created_at")
            .distinct("ticket_id")
            .only("id", "ticket_id", "status", "verdict")
        }
        for ticket in tickets:
            ticket.gaby_investigation = latest.get(ticket.pk)  # type: ignore[attr-defined]
