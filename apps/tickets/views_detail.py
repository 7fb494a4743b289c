"""One ticket: its thread, the reply composer and the status / assignment / tag controls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.forms import Form
from django.http import FileResponse, HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.tickets import selectors, services, writeback
from apps.tickets.forms import AssignForm, ReplyForm, StatusForm, TagsForm
from apps.tickets.lifecycle import allowed_targets
from apps.tickets.models import MessageKind, Priority, Status, Ticket


def _render(
    request: ClientRequest, ticket: Ticket, *, partial: str = "", status: int = 200, **extra: object
) -> HttpResponse:
    selectors.attach_people([ticket])
    context = {
        "ticket": ticket,
        "thread": selectors.thread(ticket),
        "people": selectors.assignable_people(request.tenant),
        "next_statuses": [(s, Status(s).label) for s in allowed_targets(ticket.status)],
        "priorities": Priority.choices,
        "kinds": MessageKind.choices,
        "can_write": request.membership.allows(Role.AGENT),
        "reply_form": extra.pop("reply_form", None) or ReplyForm(),
        "pushes": writeback.unfinished(ticket),
        **extra,
    }
    return render_page(request, "tickets/detail.html", context, partial=partial, status=status)


def ticket_detail(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    return _render(request, selectors.get_ticket_for_client(request, ticket_id))


@require_POST
def reply(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    ticket = selectors.get_ticket_for_client(request, ticket_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _render(request, ticket, partial="conversation", status=400, reply_form=form)
    services.reply(ticket=ticket, body=form.cleaned_data["body"], kind=form.cleaned_data["kind"], author=request.user)
    ticket.refresh_from_db()
    return partial_or_redirect(
        request, lambda: _render(request, ticket, partial="conversation"), "tickets:detail", ticket.pk
    )


def _control(
    request: ClientRequest, ticket: Ticket, form: Form, act: Callable[[dict[str, Any]], None], *, invalid: str = ""
) -> HttpResponse:
    """The side panel's forms: parse, act through a service, re-render the panel (with what to fix on a 400)."""
    if not form.is_valid():
        error = invalid or next(message for messages in form.errors.values() for message in messages)
        return _render(request, ticket, partial="controls", status=400, control_error=error)
    try:
        act(form.cleaned_data)
    except ValueError as exc:  # TransitionError included: the service's message says which moves are allowed
        return _render(request, ticket, partial="controls", status=400, control_error=str(exc))
    return partial_or_redirect(
        request, lambda: _render(request, ticket, partial="controls"), "tickets:detail", ticket.pk
    )


@require_POST
def change_status(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    ticket = selectors.get_ticket_for_client(request, ticket_id)

    def act(data: dict[str, Any]) -> None:
        services.change_status(ticket=ticket, status=data["status"], actor=request.user)
        services.change_priority(ticket=ticket, priority=data["priority"], actor=request.user)

    return _control(
        request, ticket, StatusForm(request.POST), act, invalid="Pick a status and a priority from the lists."
    )


@require_POST
def assign(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    ticket = selectors.get_ticket_for_client(request, ticket_id)

    def act(data: dict[str, Any]) -> None:
        selectors.check_assignee(request.tenant, data["assignee"])
        services.assign(ticket=ticket, assignee_id=data["assignee"], actor=request.user)

    return _control(request, ticket, AssignForm(request.POST), act, invalid="Pick someone from the list.")


@require_POST
def set_tags(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    ticket = selectors.get_ticket_for_client(request, ticket_id)

    def act(data: dict[str, Any]) -> None:
        services.set_tags(ticket=ticket, tags=data["tags"], actor=request.user)

    return _control(request, ticket, TagsForm(request.POST), act)


@require_POST
def retry_push(request: ClientRequest, ticket_id: UUID, push_id: UUID) -> HttpResponse:
    ticket = selectors.get_ticket_for_client(request, ticket_id)
    writeback.retry(push_row=selectors.get_push_for_ticket(ticket, push_id))
    return partial_or_redirect(
        request, lambda: _render(request, ticket, partial="controls"), "tickets:detail", ticket.pk
    )


def attachment(request: ClientRequest, attachment_id: UUID) -> FileResponse:
    item = selectors.get_attachment_for_client(request, attachment_id)
    return FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.filename, content_type=item.content_type
    )
