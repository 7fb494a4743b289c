"""Live inbox events: after a write commits, the changed row and new thread messages go to the client's
open pages over the shell's websocket (apps/core/live.py), rendered with the very partials the pages use.

Every event is a shell ``swap``: a new ticket is inserted at the top of the inbox's first page when its
filters let tickets in (``#inbox-rows[data-live~="ticket"]``, see apps/tickets/inbox.py), a changed one
replaces ``#ticket-<id>``, a new message is appended to ``#thread-<ticket id>``. Events go to
``tenant_group(schema, "live")`` only, so another client's sockets never receive them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.template.loader import render_to_string

from apps.core.live import broadcast, pages_open
from apps.tickets.models import Message
from apps.tickets.selectors import inbox_row, open_quarantine_count

NEW_TICKETS = '#inbox-rows[data-live~="ticket"]'


def row_html(ticket_id: UUID) -> str:
    row = inbox_row(ticket_id)
    return render_to_string(row.template, {"row": row}) if row else ""


def message_html(message_id: UUID) -> str:
    message = Message.objects.prefetch_related("attachments").filter(pk=message_id).first()
    return render_to_string("tickets/detail.html#message", {"message": message}) if message else ""


def announce(*, ticket_id: UUID, created: bool, message_ids: list[UUID]) -> None:
    if not pages_open():
        return
    html = row_html(ticket_id)
    payloads: list[dict[str, Any]] = []
    if html:
        if created:
            payloads.append({"type": "swap", "target": NEW_TICKETS, "swap": "afterbegin", "html": html})
        else:
            payloads.append({"type": "swap", "target": f"#ticket-{ticket_id}", "swap": "outerHTML", "html": html})
    for message_id in message_ids:
        payloads.append(
            {"type": "swap", "target": f"#thread-{ticket_id}", "swap": "beforeend", "html": message_html(message_id)}
        )
    broadcast(payloads)


def announce_message_update(*, ticket_id: UUID, message_id: UUID) -> None:
    html = message_html(message_id) if pages_open() else ""
    if html:
        broadcast([{"type": "swap", "target": f"#message-{message_id}", "swap": "outerHTML", "html": html}])


def announce_quarantine() -> None:
    if not pages_open():
        return
    count = open_quarantine_count()
    html = render_to_string("tickets/inbox.html#quarantine-badge", {"quarantine_count": count})
    broadcast([{"type": "swap", "target": "#quarantine-badge", "swap": "outerHTML", "html": html}])
