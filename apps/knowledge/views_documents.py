"""Knowledge > Documents: browse what is indexed, with usage counters and unreadable files."""

from __future__ import annotations

from uuid import UUID

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from apps.core.http import ClientRequest, render_page
from apps.knowledge.accessors import get_document_for_client, open_candidate_count, sources_for_client
from apps.knowledge.models import Document

PAGE_SIZE = 50


def documents(request: ClientRequest) -> HttpResponse:
    sources = list(sources_for_client(request))
    queryset = Document.objects.filter(deleted_at__isnull=True).select_related("source").order_by("source__name", "uri")
    source_id = request.GET.get("source", "")
    selected = next((s for s in sources if str(s.pk) == source_id), None)
    if selected is not None:
        queryset = queryset.filter(source=selected)
    title = request.GET.get("title", "").strip()
    if title:
        queryset = queryset.filter(title__icontains=title)
    if request.GET.get("errors"):
        queryset = queryset.exclude(error="")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": "documents",
        "sources": sources,
        "selected": selected,
        "title": title,
        "page": page,
        "open_candidates": open_candidate_count(),
    }
    return render_page(request, "knowledge/documents.html", context, partial="document-list")


def document_detail(request: ClientRequest, document_id: UUID) -> HttpResponse:
    document = get_document_for_client(request, document_id)
    context = {
        "tab": "documents",
        "document": document,
        "chunks": document.chunks.order_by("ordinal"),
        "open_candidates": open_candidate_count(),
    }
    return render(request, "knowledge/document.html", context)
