"""The audit log viewer (Admins): recent events with filters, chain verification, JSONL export."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from apps.accounts.access import require_role
from apps.accounts.models import Role, User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind, AuditEvent
from apps.core.http import ClientRequest, render_page

PAGE_SIZE = 50


def _name_actors(events: list[AuditEvent]) -> None:
    """Give each event by a person that person's name (``actor_name``): operators read names, not UUIDs."""
    ids = {e.actor_id for e in events if e.actor_kind == ActorKind.USER and e.actor_id}
    valid = []
    for value in ids:
        try:
            valid.append(UUID(value))
        except ValueError:
            continue
    names = {str(user.pk): user.display_name for user in User.objects.filter(pk__in=valid)}
    for event in events:
        event.actor_name = names.get(event.actor_id, "")  # type: ignore[attr-defined]


@require_role(Role.ADMIN)
def audit_log(request: ClientRequest) -> HttpResponse:
    events = AuditEvent.objects.all()
    event_filter = request.GET.get("event", "").strip()
    actor_filter = request.GET.get("actor", "")
    if event_filter:
        events = events.filter(event__startswith=event_filter)
    if actor_filter in ActorKind.values:
        events = events.filter(actor_kind=actor_filter)
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(sequence__lt=int(before))
    page = list(events.order_by("-sequence")[: PAGE_SIZE + 1])
    _name_actors(page[:PAGE_SIZE])
    context = {
        "events": page[:PAGE_SIZE],
        "next_before": page[PAGE_SIZE - 1].sequence if len(page) > PAGE_SIZE else None,
        "event_filter": event_filter,
        "actor_filter": actor_filter,
        "actor_kinds": ActorKind.choices,
    }
    return render_page(request, "safety/audit.html", context, partial="events")


@require_role(Role.ADMIN)
def verify_chain(request: ClientRequest) -> HttpResponse:
    return render(request, "safety/audit.html#chain", {"report": audit.verify()})


@require_role(Role.ADMIN)
def export(request: ClientRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(audit.export_jsonl(), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="gaby-audit-{request.tenant.slug}.jsonl"'
    return response
