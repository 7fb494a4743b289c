"""The unified inbox (SRC-5): every ticket of every source, filtered, searched and paginated."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from apps.accounts.models import Role
from apps.tickets import selectors
from apps.tickets.models import Priority, Status
from gaby_site.http import ClientRequest


def inbox(request: ClientRequest) -> HttpResponse:
    filters = selectors.InboxFilters.from_query(request.GET)
    page = selectors.inbox_page(filters, user_id=request.user.pk, after=request.GET.get("after", ""))
    context = {
        "page": page,
        "filters": filters,
        "filter_query": filters.as_query(),
        "sources": selectors.sources(),
        "people": selectors.assignable_people(request.tenant),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "quarantine_count": selectors.open_quarantine_count(),
        "can_write": request.membership.allows(Role.AGENT),
    }
    template = (
        "tickets/inbox.html#results"
        if request.htmx and request.htmx.target == "inbox-results"
        else "tickets/inbox.html"
    )
    return render(request, template, context)
