"""The unified inbox (SRC-5, §8.3): every ticket of every source and every row another app registers
(the chat widget's live conversations), filtered, searched and paginated as one list."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from apps.accounts.models import Role
from apps.core.http import ClientRequest
from apps.tickets import inbox, selectors
from apps.tickets.models import Priority, Status


def inbox_view(request: ClientRequest) -> HttpResponse:
    filters = inbox.InboxFilters.from_query(request.GET)
    page = inbox.inbox_page(filters, user_id=request.user.pk, after=request.GET.get("after", ""))
    context = {
        "page": page,
        "filters": filters,
        "filter_query": filters.as_query(),
        "sources": selectors.sources(),
        "extra_sources": inbox.source_options(),
        "people": selectors.assignable_people(request.tenant),
        "statuses": Status.choices,
        "extra_statuses": inbox.status_options(),
        "priorities": Priority.choices,
        "facets": [
            {"key": f.key, "label": f.label, "options": f.options, "selected": dict(filters.facets).get(f.key, "")}
            for f in inbox.ticket_facets()
        ],
        "page_templates": [p.page_template for p in inbox.providers() if p.page_template],
        "quarantine_count": selectors.open_quarantine_count(),
        "can_write": request.membership.allows(Role.AGENT),
    }
    template = (
        "tickets/inbox.html#results"
        if request.htmx and request.htmx.target == "inbox-results"
        else "tickets/inbox.html"
    )
    return render(request, template, context)
