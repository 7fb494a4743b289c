"""The request as Gaby's views see it, for type checkers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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


# Marks a response that is a part of the page drawn for the request's target. static/js/htmx-errors.js swaps
# such a part whatever its status (a form re-drawn with its errors answers 400), and shows a toast for any
# other failed response, which htmx 2 would otherwise drop without a word.
PARTIAL_HEADER = "Gaby-Partial"


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str = "", status: int = 200
) -> HttpResponse:
    """Render the whole page, or only its ``{% partialdef partial %}`` when htmx asked (it swaps that part)."""
    if partial and getattr(request, "htmx", False):
        return render_part(request, f"{template}#{partial}", context, status=status)
    return render(request, template, context, status=status)


def render_part(request: HttpRequest, name: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """Render one part of a page on its own (``page.html#part``, or a template that is only a part), marked so
    htmx swaps it whatever its status."""
    response = render(request, name, context, status=status)
    response[PARTIAL_HEADER] = name
    return response


def partial_or_redirect(request: HttpRequest, part: Callable[[], HttpResponse], to: str, *args: Any) -> HttpResponse:
    """What a form post answers: htmx gets ``part()`` (the re-drawn part of the page, errors included) to swap in;
    a plain post is sent back to the page ``to`` names (post/redirect/get), where its flash message shows."""
    return part() if getattr(request, "htmx", False) else redirect(to, *args)


def leave_for(request: HttpRequest, to: str, *args: Any) -> HttpResponse:
    """After a post that succeeded, go to another page: htmx is told to navigate (HX-Redirect; a 3xx would be
    followed inside the swap and draw a whole page into the form), a plain post is redirected."""
    target = redirect(to, *args)
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)  # nothing to swap
        response["HX-Redirect"] = target.url
        return response
    return target
