"""Investigation pages (HTMX): the list with verdicts, durations and costs; the detail with its live timeline,
the reply draft to apply or edit, the evidence bundle, and re-run."""

from __future__ import annotations

import json
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.agent import investigations as service
from apps.agent.contracts import Depth
from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice, labelled
from apps.agent.writeback import evidence_bundle
from apps.core.http import ClientRequest, partial_or_redirect, render_page

PAGE_SIZE = 50
DEPTHS = [depth.value for depth in Depth]


def get_investigation_for_client(request: ClientRequest, investigation_id: UUID) -> Investigation:
    """Scoped accessor: investigations live in the client's schema; a soft-deleted ticket's are gone too."""
    return get_object_or_404(
        Investigation.objects.select_related("ticket"), pk=investigation_id, ticket__deleted_at__isnull=True
    )


def _filtered(request: ClientRequest) -> tuple[QuerySet[Investigation], dict[str, str]]:
    filters = {key: request.GET.get(key, "").strip() for key in ("verdict", "status", "q")}
    found = Investigation.objects.select_related("ticket").filter(ticket__deleted_at__isnull=True)
    if filters["verdict"] in VerdictChoice.values:
        found = found.filter(verdict=filters["verdict"])
    if filters["status"] in InvestigationStatus.values:
        found = found.filter(status=filters["status"])
    if filters["q"]:
        found = found.filter(ticket__title__icontains=filters["q"])
    return found, filters


def investigations(request: ClientRequest) -> HttpResponse:
    found, filters = _filtered(request)
    page = Paginator(found.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "verdicts": VerdictChoice.choices,
        "statuses": InvestigationStatus.choices,
    }
    return render_page(request, "agent/investigations.html", context, partial="results")


def _detail(
    request: ClientRequest,
    investigation: Investigation,
    *,
    partial: str = "",
    status: int = 200,
    error: str = "",
    refresh_steps: bool = False,
) -> HttpResponse:
    context = {
        "refresh_steps": refresh_steps,
        "investigation": investigation,
        "ticket": investigation.ticket,
        "steps": investigation.steps.select_related("action", "llm_call").order_by("ordinal"),
        "can_write": request.membership.allows(Role.AGENT),
        "depths": labelled(Depth),
        "error": error,
        "others": Investigation.objects.filter(ticket=investigation.ticket).exclude(pk=investigation.pk)[:10],
    }
    return render_page(request, "agent/investigation.html", context, partial=partial, status=status)


def detail(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    return _detail(request, get_investigation_for_client(request, investigation_id))


def outcome(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    """The verdict, reply and summary section: polled by the page while the investigation runs, with the
    timeline swapped out of band (live events bring each step at once; the poll makes sure none is missing)."""
    investigation = get_investigation_for_client(request, investigation_id)
    return _detail(request, investigation, partial="outcome", refresh_steps=True)


@require_POST
def apply_reply(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    investigation = get_investigation_for_client(request, investigation_id)
    body = request.POST.get("reply")
    try:
        investigation = service.apply_reply(investigation=investigation, actor=request.user, body=body)
    except service.InvestigationError as exc:
        return _detail(request, investigation, partial="outcome", status=409, error=str(exc))
    messages.success(request, "Reply sent to the customer.")
    return partial_or_redirect(
        request, lambda: _detail(request, investigation, partial="outcome"), "agent:detail", investigation.pk
    )


@require_POST
def discard_reply(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    investigation = get_investigation_for_client(request, investigation_id)
    try:
        investigation = service.discard_reply(investigation=investigation, actor=request.user)
    except service.InvestigationError as exc:
        return _detail(request, investigation, partial="outcome", status=409, error=str(exc))
    return partial_or_redirect(
        request, lambda: _detail(request, investigation, partial="outcome"), "agent:detail", investigation.pk
    )


@require_POST
def rerun(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    investigation = get_investigation_for_client(request, investigation_id)
    depth = request.POST.get("depth") or None
    if depth is not None and depth not in DEPTHS:
        return _detail(request, investigation, status=400, error=f"Depth must be one of {', '.join(DEPTHS)}.")
    try:
        again = service.rerun(ticket=investigation.ticket, actor=request.user, depth=depth)
    except service.InvestigationError as exc:
        return _detail(request, investigation, status=409, error=str(exc))
    return redirect("agent:detail", again.pk)


def evidence(request: ClientRequest, investigation_id: UUID) -> HttpResponse:
    """SRE-7: the evidence bundle (timeline, queries, results, citations) as a JSON download."""
    investigation = get_investigation_for_client(request, investigation_id)
    response = HttpResponse(
        json.dumps(evidence_bundle(investigation), indent=2, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="investigation-{investigation.pk}.json"'
    return response
