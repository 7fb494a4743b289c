"""The request as Gaby's views see it, for type checkers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from apps.accounts.models import Membership, User
    from tenants.models import Client


class GabyRequest(HttpRequest):
    tenant: Client
    membership: Membership | None
    htmx: HtmxDetails
    request_id: str
    user: User


class ClientRequest(GabyRequest):
    """A request on a client's domain that passed ClientAccessMiddleware: it always has a membership."""

    membership: Membership


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str = "", status: int = 200
) -> HttpResponse:
    """Render the whole page, or only its ``{% partialdef partial %}`` when htmx asked (it swaps that part)."""
    name = f"{template}#{partial}" if partial and getattr(request, "htmx", False) else template
    return render(request, name, context, status=status)
