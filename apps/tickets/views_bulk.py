"""Bulk actions from the inbox: one status, priority or assignee for the tickets an agent ticked.

Each ticket goes through the same service as its own page (audited one by one); one that cannot move (a closed
ticket cannot reopen) is reported and the others still change.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, leave_for
from apps.tickets import selectors, services
from apps.tickets.models import Priority, Status, Ticket

MAX_TICKETS = 200


class BulkForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False)
    assignee = forms.CharField(required=False, max_length=40)  # "", "none" or a user id

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("status") or data.get("priority") or data.get("assignee")):
            raise forms.ValidationError("Pick a status, a priority or someone to assign.")
        return data


def _ticked(request: ClientRequest) -> list[UUID]:
    """The ticked tickets' ids; a value that is no id names no ticket and is passed over."""
    ids = []
    for value in request.POST.getlist("ticket"):
        try:
            ids.append(UUID(value))
        except ValueError:
            continue
    return ids


def _assignee(request: ClientRequest, value: str) -> UUID | None:
    if value == "none":
        return None
    assignee = UUID(value)  # ValueError: not an id
    selectors.check_assignee(request.tenant, assignee)  # Http404: nobody who may be assigned
    return assignee


def _back(request: ClientRequest) -> str:
    """The inbox as the user was looking at it (the page's own address: its filters change without a reload)."""
    target = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse("tickets:inbox")
    parts = urlsplit(target)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@require_POST
@require_role(Role.AGENT)
def bulk_update(request: ClientRequest) -> HttpResponse:
    ids = _ticked(request)
    form = BulkForm(request.POST)
    if not ids:
        form.add_error(None, "Tick a ticket first.")
    elif len(ids) > MAX_TICKETS:
        form.add_error(None, f"Tick at most {MAX_TICKETS} tickets at a time.")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return leave_for(request, _back(request))
    data = form.cleaned_data
    try:
        assignee = _assignee(request, data["assignee"]) if data["assignee"] else None
    except (ValueError, Http404):
        messages.error(request, "Pick someone from the list to assign.")
        return leave_for(request, _back(request))
    changes: dict[str, Any] = {key: data[key] for key in ("status", "priority") if data[key]}
    if data["assignee"]:
        changes["assignee_id"] = assignee
    changed, refused = 0, []
    for pk in Ticket.objects.live().filter(pk__in=ids).order_by("created_at").values_list("pk", flat=True):
        try:
            with transaction.atomic():
                ticket = Ticket.objects.select_for_update().get(pk=pk)  # as it is now, not as the page showed it
                services.update_ticket(client=request.tenant, ticket=ticket, changes=changes, actor=request.user)
        except ValueError as exc:  # TransitionError included: this ticket stays as it was
            refused.append(f"“{ticket.title}”: {exc}")
        else:
            changed += 1
    if changed:
        messages.success(request, f"Updated {changed} ticket{'s' if changed != 1 else ''}.")
    if refused:
        messages.error(request, f"Not changed: {'; '.join(refused)}")
    return leave_for(request, _back(request))
