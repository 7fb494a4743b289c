"""Emitting ticket events: called by apps/tickets/services.py inside the transaction of the change.

An event is stored only when at least one enabled endpoint wants its type, together with one pending
delivery per such endpoint; the deliveries are queued on commit. The payload is a snapshot taken now,
so a retry hours later sends exactly what happened then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.core.ids import uuid7
from apps.core.tasks import enqueue as enqueue_task
from apps.tickets.models import Message, Ticket
from apps.tickets.outbound.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

TICKET_FIELDS = ("title", "status", "priority", "tags", "assignee_id", "sla_due_at", "external_id", "source_id")


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    contact = ticket.contact if ticket.contact_id else None
    return {
        "id": ticket.pk,
        **{name: getattr(ticket, name) for name in TICKET_FIELDS},
        "contact": {"email": contact.email, "name": contact.name} if contact else None,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def message_snapshot(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "ticket_id": message.ticket_id,
        "direction": message.direction,
        "kind": message.kind,
        "author_label": message.author_label,
        "body": message.body,
        "created_at": message.created_at,
    }


@dataclass(frozen=True)
class Event:
    """One ticket event to emit: its type, and the message or the field changes it is about."""

    type: str
    message: Message | None = None
    changes: dict[str, dict[str, Any]] | None = None


def emit(
    event_type: str,
    *,
    ticket: Ticket,
    message: Message | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
) -> UUID | None:
    """Record one event for every enabled endpoint that wants it; returns the event id (None if nobody listens)."""
    return emit_events(ticket, [Event(event_type, message, changes)])[0]


def emit_events(ticket: Ticket, events: list[Event]) -> list[UUID | None]:
    """Record the events of one change, in order (the endpoints are read once); each one's id, or None when no
    endpoint wants it."""
    enabled = list(WebhookEndpoint.objects.filter(enabled=True)) if events else []
    return [_record(event, ticket, [e for e in enabled if e.wants(event.type)]) for event in events]


def _record(wanted: Event, ticket: Ticket, endpoints: list[WebhookEndpoint]) -> UUID | None:
    if not endpoints:
        return None
    event = WebhookEvent(type=wanted.type, ticket_id=ticket.pk, created_at=timezone.now())
    data: dict[str, Any] = {"ticket": ticket_snapshot(ticket)}
    if wanted.message is not None:
        data["message"] = message_snapshot(wanted.message)
    if wanted.changes:
        data["changes"] = wanted.changes
    envelope = {
        "id": event.pk,
        "type": wanted.type,
        "client": connection.schema_name,  # type: ignore[attr-defined]
        "created_at": event.created_at,
        "data": data,
    }
    event.payload = json.loads(json.dumps(envelope, cls=DjangoJSONEncoder))
    event.save()
    deliveries = WebhookDelivery.objects.bulk_create(WebhookDelivery(event=event, endpoint=e) for e in endpoints)
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: enqueue(ids))
    return event.pk


_EVENT_OF_FIELD = {"status": EventType.TICKET_STATUS_CHANGED, "deleted_at": EventType.TICKET_DELETED}


def emit_ingest(ticket: Ticket, *, created: bool, diff: dict[str, dict[str, Any]], new_messages: list[Message]) -> None:
    """The events of one ingestion: created, or status changed / updated; then each new message."""
    events = [Event(EventType.TICKET_CREATED)] if created else []
    status = diff.pop("status", None)
    if status is not None:
        events.append(Event(EventType.TICKET_STATUS_CHANGED, changes={"status": status}))
    if diff:
        events.append(Event(EventType.TICKET_UPDATED, changes=diff))
    events += [Event(EventType.MESSAGE_CREATED, message=message) for message in new_messages]
    emit_events(ticket, events)


def emit_change(ticket: Ticket, changes: dict[str, dict[str, Any]]) -> None:
    """An operator's change of one field: its status, its deletion, or anything else (ticket.updated)."""
    emit(_EVENT_OF_FIELD.get(next(iter(changes)), EventType.TICKET_UPDATED), ticket=ticket, changes=changes)


def enqueue(delivery_ids: list[UUID], *, manual: bool = False) -> None:
    for delivery_id in delivery_ids:
        # A redelivery gets a task id of its own: the automatic one may still be known to the result backend.
        task_id = f"webhook-{delivery_id}" + (f"-manual-{uuid7().hex}" if manual else "")
        enqueue_task("tickets.deliver_webhook", str(delivery_id), kwargs={"manual": manual}, task_id=task_id)
