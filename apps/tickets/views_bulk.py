"""Bulk actions from the inbox: one status, priority or assignee for the tickets an agent ticked.

Each ticket goes through the same service as its own page (audited one by one); one that cannot move (a closed
ticket cannot reopen) is reported and the others still change.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, leave_for
from apps.tickets import selectors, services
from apps.tickets.models import Priority, Status, Ticket

MAX_TICKETS = 200


class BulkForm(forms.Form):
    ticket = forms.TypedMultipleChoiceField(
        coerce=UUID, choices=(), error_messages={"required": "Tick a ticket first."}
    )
    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False)
    assignee = forms.CharField(required=False, max_length=40)  # "", "none" or a user id

    def __init__(self, data: Any, ids: list[str]) -> None:
        super().__init__(data)
        field = self.fields["ticket"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(i, i) for i in ids]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("status") or data.get("priority") or data.get("assignee")):
            raise forms.ValidationError("Pick a status, a priority or someone to assign.")
        return data


def _assignee(request: ClientRequest, value: str) -> UUID | None:
    if value == "none":
        return None
    assignee = UUID(value)
    selectors.check_assignee(request.tenant, assignee)
    return assignee


def _back(request: ClientRequest) -> str:
    target = request.POST.get("next", "")
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/inbox/"


@require_POST
@require_role(Role.AGENT)
def bulk_update(request: ClientRequest) -> HttpResponse:
    ids = request.POST.getlist("ticket")[:MAX_TICKETS]
    form = BulkForm(request.POST, ids)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return leave_for(request, _back(request))
    data = form.cleaned_data
    try:
        assignee = _assignee(request, data["assignee"]) if data["assignee"] else None
    except ValueError:
        messages.error(request, "Pick someone from the list to assign.")
        return leave_for(request, _back(request))
    changed, refused = 0, []
    for ticket in Ticket.objects.live().filter(pk__in=data["ticket"]).order_by("created_at"):
        try:
            with transaction.atomic():
                if data["status"]:
                    services.change_status(ticket=ticket, status=data["status"], actor=request.user)
                if data["priority"]:
                    services.change_priority(ticket=ticket, priority=data["priority"], actor=request.user)
                if data["assignee"]:
                    services.assign(ticket=ticket, assignee_id=assignee, actor=request.user)
        except ValueError as exc:  # TransitionError included: this ticket stays as it was
            refused.append(f"“{ticket.title}”: {exc}")
        else:
            changed += 1
    if changed:
        messages.success(request, f"Updated {changed} ticket{'s' if changed != 1 else ''}.")
    if refused:
        messages.error(request, f"Not changed: {'; '.join(refused)}")
    return leave_for(request, _back(request))
