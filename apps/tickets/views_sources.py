"""Sources with their sync status and last error, and the quarantine of payloads that could not be read."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.core.http import ClientRequest
from apps.tickets import selectors, services
from apps.tickets.api_desks import WEBHOOK_KINDS
from apps.tickets.models import QuarantinedPayload
from apps.tickets.views_connect import connectable


def sources(request: ClientRequest) -> HttpResponse:
    context = {
        "sources": selectors.sources(),
        "can_connect": request.membership.allows(Role.ADMIN),
        "connect_kinds": connectable(),
        "desk_webhook_kinds": WEBHOOK_KINDS,
    }
    return render(request, "tickets/sources.html", context)


def quarantine(request: ClientRequest) -> HttpResponse:
    show_resolved = request.GET.get("resolved") == "1"
    payloads = QuarantinedPayload.objects.select_related("source").filter(resolved=show_resolved)[:200]
    context = {
        "payloads": payloads,
        "show_resolved": show_resolved,
        "can_write": request.membership.allows(Role.AGENT),
    }
    return render(request, "tickets/quarantine.html", context)


@require_POST
def resolve_quarantined(request: ClientRequest, payload_id: UUID) -> HttpResponse:
    payload = selectors.get_quarantined_for_client(request, payload_id)
    services.resolve_quarantined(payload=payload)
    if request.htmx:
        return HttpResponse("")
    return redirect("tickets:quarantine")
