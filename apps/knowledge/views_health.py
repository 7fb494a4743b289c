"""Knowledge > Health: stale documents and near-duplicates (KB-6)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from apps.core.edges import int_param
from apps.core.http import ClientRequest
from apps.knowledge.accessors import open_candidate_count
from apps.knowledge.health import near_duplicates, stale_documents
from apps.knowledge.models import Document

MAX_STALE_DAYS = 3650


def health(request: ClientRequest) -> HttpResponse:
    days = int_param(request.GET, "days", default=settings.KNOWLEDGE_STALE_DAYS, low=1, high=MAX_STALE_DAYS)
    context = {
        "tab": "health",
        "days": days,
        "stale": stale_documents(days=days)[:200],
        "duplicates": near_duplicates(),
        "threshold": int(settings.KNOWLEDGE_DUPLICATE_SIMILARITY * 100),
        "unreadable": Document.objects.filter(deleted_at__isnull=True).exclude(error="").select_related("source")[:200],
        "open_candidates": open_candidate_count(),
    }
    return render(request, "knowledge/health.html", context)
