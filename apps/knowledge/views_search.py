"""Knowledge > Search: the playground shows hits exactly as the agent gets them, with explanations."""

from __future__ import annotations

from django.http import HttpResponse

from apps.core.http import ClientRequest, render_page
from apps.knowledge.accessors import open_candidate_count
from apps.knowledge.forms import SearchForm
from apps.knowledge.retrieval import QueryError, SearchResult, search


def search_page(request: ClientRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    result: SearchResult | None = None
    error = ""
    status = 200
    if form.is_bound and form.is_valid() and form.cleaned_data["q"]:
        try:
            # Trying queries out is not use: the playground leaves usage counters alone.
            result = search(
                form.cleaned_data["q"],
                filters=form.filters(),
                record_usage=False,
                mode=form.cleaned_data["mode"] or "hybrid",
            )
        except QueryError as exc:
            error, status = str(exc), 400
    elif form.is_bound and not form.is_valid():
        status = 400
    context = {
        "tab": "search",
        "form": form,
        "result": result,
        "error": error,
        "open_candidates": open_candidate_count(),
    }
    return render_page(request, "knowledge/search.html", context, partial="results", status=status)
