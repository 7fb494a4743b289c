"""Starts an operator's work clock (apps/billing/clock.py) when they open a ticket's page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.billing import clock

TICKET_PAGE = "tickets:detail"


class TicketWorkClockMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            request.method == "GET"
            and response.status_code == 200
            and match is not None
            and match.view_name == TICKET_PAGE
            and request.user.is_authenticated
        ):
            clock.start(match.kwargs["ticket_id"], request.user.pk)
        return response
