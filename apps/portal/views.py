"""The MSP portal's home: the attention queue across clients and a card per client (MSP staff), the client list for
everyone, and the queue's filters and bulk actions (HTMX swaps the queue; without JavaScript the forms still work)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.access import msp_staff_required
from apps.accounts.context import jump_url
from apps.core.http import GabyRequest, render_page
from apps.portal import actions, cards, queue
from apps.portal.forms import NewClientForm
from apps.portal.models import Kind

TEMPLATE = "portal/home.html"


def _attention(request: GabyRequest, reach: list[queue.Reach], data: Any) -> dict[str, Any]:
    filters, errors = queue.Filters.parse(data)
    found = queue.read(reach, filters)
    for item in found.items:
        item.url = jump_url(request, item.client, item.path)
    found.errors += errors
    return {
        "queue": found,
        "filters": filters,
        "reach": reach,
        "kinds": Kind.choices,
        "ages": list(queue.AGES),
        "states": queue.STATES,
        "snoozes": list(actions.SNOOZES),
        "can_act": any(r.can_act for r in reach),
    }


def page_context(request: GabyRequest, form: NewClientForm | None = None) -> dict[str, Any]:
    """What the portal's home shows: the onboarding form, and for MSP staff the queue and a card per client."""
    context: dict[str, Any] = {"form": form or (NewClientForm() if request.user.is_msp_staff else None)}
    reach = queue.reachable(request.user)
    if reach:
        context.update(_attention(request, reach, request.GET))
        context["cards"] = {card.client.pk: card for card in cards.cards([r.client for r in reach])}
    return context


def home(request: GabyRequest) -> HttpResponse:
    return render_page(request, TEMPLATE, page_context(request))


@msp_staff_required
def attention(request: GabyRequest) -> HttpResponse:
    """The queue alone, filtered (what the filter form swaps in); a plain GET is the whole page."""
    reach = queue.reachable(request.user)
    if not request.htmx:
        return home(request)
    return render_page(request, TEMPLATE, _attention(request, reach, request.GET), partial="attention")


@require_POST
@msp_staff_required
def act(request: GabyRequest) -> HttpResponse:
    reach = queue.reachable(request.user)
    status = 200
    try:
        outcome = actions.act(
            request.user,
            reach,
            action=request.POST.get("action", ""),
            keys=request.POST.getlist("item"),
            snooze=request.POST.get("snooze", ""),
        )
    except actions.ActionError as exc:
        messages.error(request, str(exc))
        status = 400
    else:
        messages.success(request, outcome.message)
        for problem in outcome.problems[:10]:
            messages.warning(request, problem)
    if not request.htmx:
        return redirect("portal_home")
    return render_page(request, TEMPLATE, _attention(request, reach, request.POST), partial="attention", status=status)
