"""Knowledge > Health: stale documents and near-duplicates (KB-6)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from apps.knowledge.accessors import open_candidate_count
from apps.knowledge.health import near_duplicates, stale_documents
from apps.knowledge.models import Document
from gaby_site.http import ClientRequest


def health(request: ClientRequest) -> HttpResponse:
    try:
        days = max(1, int(request.GET.get("days") or settings.KNOWLEDGE_STALE_DAYS))
    except ValueError:
        days = settings.KNOWLEDGE_STALE_DAYS
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
