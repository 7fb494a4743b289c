"""Every LLM call, inspectable (LLM-6): what was sent after redaction, what came back, tokens, cost, latency."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from apps.core.http import ClientRequest, render_page
from apps.llm.models import CALL_WORKFLOWS, CallStatus, LLMCall

PAGE_SIZE = 50


def get_call_for_client(request: ClientRequest, call_id: UUID) -> LLMCall:
    """Scoped accessor: calls live in the client's schema."""
    return get_object_or_404(LLMCall, pk=call_id)


def _filtered(request: ClientRequest) -> tuple[QuerySet[LLMCall], dict[str, str]]:
    filters = {key: request.GET.get(key, "").strip() for key in ("workflow", "status", "model", "budget")}
    calls = LLMCall.objects.all()
    if filters["workflow"] in dict(CALL_WORKFLOWS):  # embedding batches too
        calls = calls.filter(workflow=filters["workflow"])
    if filters["status"] in CallStatus.values:
        calls = calls.filter(status=filters["status"])
    if filters["model"]:
        calls = calls.filter(model__icontains=filters["model"])
    if filters["budget"]:
        calls = calls.filter(budget_key=filters["budget"])
    return calls, filters


def calls(request: ClientRequest) -> HttpResponse:
    selected, filters = _filtered(request)
    totals = selected.aggregate(
        n=Count("id"), usd=Sum("cost_usd"), tokens_in=Sum("input_tokens"), tokens_out=Sum("output_tokens")
    )
    page = Paginator(selected.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "totals": {key: value or 0 for key, value in totals.items()},
        "workflows": CALL_WORKFLOWS,
        "statuses": CallStatus.choices,
    }
    return render_page(request, "llm/calls.html", context, partial="results")


def call_detail(request: ClientRequest, call_id: UUID) -> HttpResponse:
    call = get_call_for_client(request, call_id)
    return render_page(request, "llm/call_detail.html", {"call": call})
