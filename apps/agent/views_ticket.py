"""The Gaby panel on a ticket's page (apps/agent/ticket_panel.py): drawn, polled while a run is active, and its
buttons — investigate (again), use the drafted reply, discard it."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.agent import investigations as service
from apps.agent.ticket_panel import TEMPLATE, panel_context
from apps.agent.views import DEPTHS, get_investigation_for_client
from apps.core.http import ClientRequest, leave_for, render_part
from apps.tickets.models import Ticket
from apps.tickets.selectors import get_ticket_for_client


def _panel(request: ClientRequest, ticket: Ticket, *, status: int = 200, error: str = "") -> HttpResponse:
    context = panel_context(ticket, can_write=request.membership.allows(Role.AGENT), error=error)
    return render_part(request, TEMPLATE, context, status=status)


def ticket_panel(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    return _panel(request, get_ticket_for_client(request, ticket_id))


@require_POST
def investigate_ticket(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    """Start (or join) the investigation of a ticket: from its page's panel (htmx), which then shows it running,
    or from anywhere else, which goes to the investigation's timeline."""
    ticket = get_ticket_for_client(request, ticket_id)
    depth = request.POST.get("depth") or None
    if depth is not None and depth not in DEPTHS:
        return _panel(request, ticket, status=400, error=f"Depth must be one of {', '.join(DEPTHS)}.")
    investigation = service.start_investigation(ticket=ticket, triggered_by="user", actor=request.user, depth=depth)
    if request.htmx:
        return _panel(request, ticket)
    return redirect("agent:detail", investigation.pk)


@require_POST
def use_reply(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    """Send Gaby's drafted reply (as the operator edited it) on the ticket; the page reloads to show it."""
    investigation = get_investigation_for_client(request, investigation_id)
    try:
        service.apply_reply(investigation=investigation, actor=request.user, body=request.POST.get("reply"))
    except service.InvestigationError as exc:
        return _panel(request, investigation.ticket, status=409, error=str(exc))
    messages.success(request, "Reply sent to the customer.")
    return leave_for(request, "tickets:detail", investigation.ticket_id)


@require_POST
def discard_reply(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    investigation = get_investigation_for_client(request, investigation_id)
    try:
        service.discard_reply(investigation=investigation, actor=request.user)
    except service.InvestigationError as exc:
        return _panel(request, investigation.ticket, status=409, error=str(exc))
    return _panel(request, investigation.ticket)
