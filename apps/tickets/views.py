"""The unified inbox (SRC-5, §8.3): every ticket of every source and every row another app registers
(the chat widget's live conversations), filtered, searched and paginated as one list."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render

from apps.accounts.models import Role
from apps.core.http import ClientRequest
from apps.tickets import inbox, saved_views, selectors
from apps.tickets.models import Priority, Status


def inbox_view(request: ClientRequest) -> HttpResponse:
    filters = inbox.InboxFilters.from_query(request.GET)
    template_is_page = not (request.htmx and request.htmx.target == "inbox-results")
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
        "saved_views": saved_views.views_for(request.user.pk) if template_is_page else [],
        "current_query": urlencode(filters.as_query()),
        "default_query": saved_views.DEFAULT,
        "can_write": request.membership.allows(Role.AGENT),
    }
    template = "tickets/inbox.html" if template_is_page else "tickets/inbox.html#results"
    return render(request, template, context)
