"""Domain operations on tickets: every write of every path (pollers, webhooks, pages, API) comes through here.

Each verb runs in one transaction and fires its side effects (live inbox events, delivery to the
source) with ``transaction.on_commit``, so nothing is announced or sent for a write that rolled back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.auditlog.audit import record_by
from apps.core.secrets import seal_json
from apps.core.tasks import enqueue
from apps.tickets import attachments, live, rawtext, writeback
from apps.tickets.lifecycle import TransitionError, check_transition
from apps.tickets.models import (
    Contact,
    DeliveryState,
    Direction,
    Message,
    MessageKind,
    Priority,
    QuarantinedPayload,
    Status,
    Ticket,
    TicketSource,
)
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.outbound import events as outbound
from apps.tickets.outbound.models import EventType
from apps.tickets.selectors import check_assignee, source_config
from apps.tickets.sources.base import PayloadError
from apps.tickets.sources.registry import adapter_class, adapter_for
from tenants.models import Client

log = structlog.get_logger(__name__)

MAX_TAGS = 30
REOPENING_STATUSES = {Status.PENDING, Status.SOLVED, Status.ON_HOLD}


# --- sources -------------------------------------------------------------------------------------
def create_source(
    *, client: Client, kind: str, name: str, config: dict[str, Any], poll_interval_seconds: int = 60, actor: Any = None
) -> TicketSource:
    with transaction.atomic():
        source = TicketSource.objects.create(
            kind=kind, name=name, poll_interval_seconds=poll_interval_seconds, next_poll_at=timezone.now()
        )
        source.sealed_config = seal_json(client, config, purpose=source.secret_purpose)
        source.save(update_fields=["sealed_config"])
        # The configuration's keys only: its values hold passwords and signing secrets.
        record_by("ticket_source.created", actor, source=source.pk, kind=kind, name=name, config_keys=sorted(config))
    return source


def update_source_config(*, client: Client, source: TicketSource, config: dict[str, Any], actor: Any = None) -> None:
    with transaction.atomic():
        source.sealed_config = seal_json(client, config, purpose=source.secret_purpose)
        source.save(update_fields=["sealed_config"])
        record_by("ticket_source.config_changed", actor, source=source.pk, config_keys=sorted(config))


# --- ingestion -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    created: bool
    new_messages: list[Message]


def _contact(normalized: NormalizedContact | None) -> Contact | None:
    if normalized is None or not (normalized.email or normalized.name or normalized.external_id):
        return None
    email = normalized.email.strip().lower()
    if email:
        contact, created = Contact.objects.get_or_create(
            email=email, defaults={"name": normalized.name, "external_id": normalized.external_id}
        )
        if not created and normalized.name and not contact.name:
            contact.name = normalized.name
            contact.save(update_fields=["name"])
        return contact
    if normalized.external_id:
        existing = Contact.objects.filter(external_id=normalized.external_id, email="").first()
        if existing:
            return existing
    return Contact.objects.create(name=normalized.name, external_id=normalized.external_id)


def message_key(message: NormalizedMessage) -> str:
    """A message's identity: the source's id, or a digest of its content when the source gives none."""
    if message.external_id:
        return message.external_id[:500]
    stamp = message.created_at.isoformat() if message.created_at else ""
    digest = hashlib.sha256(f"{message.author_label}\0{stamp}\0{message.body}".encode()).hexdigest()
    return f"sha256:{digest}"


def _find_ticket(source: TicketSource, normalized: NormalizedTicket) -> tuple[Ticket | None, bool]:
    """(ticket, matched_by_thread): by the source's id first, then by the messages it answers."""
    ticket = Ticket.objects.select_for_update().filter(source=source, external_id=normalized.external_id).first()
    if ticket is not None or not normalized.thread_refs:
        return ticket, False
    ticket_id = (
        Message.objects.filter(ticket__source=source, external_id__in=list(normalized.thread_refs))
        .order_by("created_at")
        .values_list("ticket_id", flat=True)
        .first()
    )
    if ticket_id is None:
        return None, False
    return Ticket.objects.select_for_update().get(pk=ticket_id), True


def _create_ticket(source: TicketSource, normalized: NormalizedTicket) -> tuple[Ticket, bool]:
    try:
        with transaction.atomic():  # a savepoint: a concurrent ingest of the same ticket may win the race
            ticket = Ticket.objects.create(
                source=source,
                external_id=normalized.external_id[:300],
                title=normalized.title[:500] or "(no subject)",
                body=normalized.body,
                contact=_contact(normalized.contact),
                requester_authentication=(normalized.contact.authentication if normalized.contact else "")[:200],
                priority=normalized.priority or Priority.NORMAL,
                status=normalized.status or Status.NEW,
                sla_due_at=normalized.sla_due_at,
                tags=list(normalized.tags or ()),
            )
            return ticket, True
    except IntegrityError:
        return Ticket.objects.select_for_update().get(source=source, external_id=normalized.external_id), False


def _apply_update(ticket: Ticket, normalized: NormalizedTicket) -> dict[str, dict[str, Any]]:
    """The source is the truth for fields it sends; fields it leaves out (None) keep Gaby's value.
    Returns what changed, ``{field: {"from": old, "to": new}}``, for the outbound event."""
    changes: dict[str, Any] = {}
    if normalized.title and normalized.title[:500] != ticket.title:
        changes["title"] = normalized.title[:500]
    if normalized.body and normalized.body != ticket.body:
        changes["body"] = normalized.body
    for name in ("priority", "status", "sla_due_at"):
        value = getattr(normalized, name)
        if value is not None and value != getattr(ticket, name):
            changes[name] = value
    if normalized.tags is not None and list(normalized.tags) != ticket.tags:
        changes["tags"] = list(normalized.tags)
    if ticket.contact_id is None and normalized.contact is not None:
        contact = _contact(normalized.contact)
        if contact is not None:
            changes["contact"] = contact
    diff = {name: {"from": getattr(ticket, name), "to": value} for name, value in changes.items()}
    diff.pop("contact", None)
    for name, value in changes.items():
        setattr(ticket, name, value)
    if changes:
        ticket.save(update_fields=[*changes, "updated_at"])
    return diff


def ingest_ticket(*, source: TicketSource, normalized: NormalizedTicket) -> IngestResult:
    """Store one ticket as the source sees it: idempotent, appends only messages it has not seen."""
    if not normalized.external_id:
        raise ValueError("A normalized ticket needs its source's external_id.")
    with transaction.atomic():
        ticket, by_thread = _find_ticket(source, normalized)
        created = False
        diff: dict[str, dict[str, Any]] = {}
        if ticket is None:
            ticket, created = _create_ticket(source, normalized)
        if not created and not by_thread:
            diff = _apply_update(ticket, normalized)
        keys = {message_key(m): m for m in normalized.messages}
        known = dict(Message.objects.filter(ticket=ticket, external_id__in=list(keys)).values_list("external_id", "id"))
        new_messages = []
        for key, item in keys.items():
            if key in known:
                continue
            message = Message.objects.create(
                ticket=ticket,
                direction=item.direction,
                kind=item.kind,
                author_label=item.author_label[:300],
                body=item.body,
                external_id=key,
                hidden_parts=[{"how": part.how, "text": part.text} for part in item.hidden],
            )
            if item.created_at is not None:
                Message.objects.filter(pk=message.pk).update(created_at=item.created_at)
                message.created_at = item.created_at
            attachments.store_all(message, item.attachments)
            new_messages.append(message)
        with_files = {key: known[key] for key in known if any(a.external_id for a in keys[key].attachments)}
        if with_files:  # a file whose download failed on an earlier pull is tried again
            attachments.retry_failed(with_files, keys)
        customer_wrote = any(m.direction == Direction.INBOUND for m in new_messages)
        if not created and customer_wrote and normalized.status is None and ticket.status in REOPENING_STATUSES:
            diff["status"] = {"from": ticket.status, "to": Status.OPEN}
            ticket.status = Status.OPEN
            ticket.save(update_fields=["status", "updated_at"])
        elif not created and new_messages:
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        outbound.emit_ingest(ticket, created=created, diff=diff, new_messages=new_messages)
        ticket_id, message_ids = ticket.pk, [m.pk for m in new_messages]
        if created or diff or new_messages:  # a help desk re-sending an unchanged ticket is not news
            transaction.on_commit(lambda: live.announce(ticket_id=ticket_id, created=created, message_ids=message_ids))
    return IngestResult(ticket=ticket, created=created, new_messages=new_messages)


def quarantine(*, source: TicketSource, raw: str | bytes, error: str, content_type: str = "") -> QuarantinedPayload:
    """Keep a payload that cannot become a ticket, with the reason, for an operator to see and to process again
    (``rawtext.payload_bytes``): whatever its bytes, NUL included, it is stored losslessly."""
    text, escaped = rawtext.as_text(raw)
    content_type = rawtext.clean_text(content_type, 200)
    with transaction.atomic():
        payload = QuarantinedPayload.objects.create(
            source=source,
            raw=text,
            error=rawtext.clean_text(error, 5000),
            content_type=rawtext.mark_escaped(content_type, 200) if escaped else content_type,
        )
        transaction.on_commit(live.announce_quarantine)
    return payload


def resolve_quarantined(*, payload: QuarantinedPayload) -> None:
    QuarantinedPayload.objects.filter(pk=payload.pk).update(resolved=True)


# --- operator actions ----------------------------------------------------------------------------
def reply(*, ticket: Ticket, body: str, kind: str, author: Any) -> Message:
    """Record an outbound reply or internal note and, when the source takes that kind, queue its delivery."""

    body = body.strip()
    if not body:
        raise ValueError("Write something before sending.")
    if kind not in MessageKind.values:
        raise ValueError(f"Unknown message kind {kind!r}; use public_reply or internal_note.")
    delivers = kind in adapter_class(ticket.source.kind).sink_kinds
    # No savepoint inside a caller's transaction (a conclusion writing its reply): nobody goes on after a
    # failed reply, and a savepoint costs two round trips.
    with transaction.atomic(savepoint=False):
        message = Message.objects.create(
            ticket=ticket,
            direction=Direction.OUTBOUND,
            kind=kind,
            author_label=getattr(author, "display_name", "") or str(author),
            author_user_id=getattr(author, "pk", None),
            body=body,
            delivery_state=DeliveryState.QUEUED if delivers else DeliveryState.NONE,
        )
        old_status, touched = ticket.status, ["updated_at"]  # auto_now: save() sets it
        if ticket.status == Status.NEW:
            ticket.status = Status.OPEN
            touched.append("status")
        ticket.save(update_fields=touched)  # only these columns: a status changed meanwhile is not written over
        events = [outbound.Event(EventType.MESSAGE_CREATED, message=message)]
        if ticket.status != old_status:
            changes = {"status": {"from": old_status, "to": ticket.status}}
            events.append(outbound.Event(EventType.TICKET_STATUS_CHANGED, changes=changes))
        outbound.emit_events(ticket, events)
        # Last: the schema's audit lock is held from here to the commit.
        record_by("ticket.replied", author, ticket=ticket.pk, message=message.pk, kind=kind)  # not the body: PII
        message_id, ticket_id = message.pk, ticket.pk
        if delivers:
            transaction.on_commit(lambda: _enqueue_delivery(message_id))
        transaction.on_commit(lambda: live.announce(ticket_id=ticket_id, created=False, message_ids=[message_id]))
    return message


def _enqueue_delivery(message_id: UUID) -> None:
    enqueue("tickets.deliver_message", str(message_id), task_id=f"deliver-{message_id}")


def _changed(ticket: Ticket, event: str, actor: Any, **fields: Any) -> None:
    with transaction.atomic():
        now = timezone.now()
        Ticket.objects.filter(pk=ticket.pk).update(**fields, updated_at=now)
        changes = {name: {"from": getattr(ticket, name), "to": value} for name, value in fields.items()}
        ticket.updated_at = now
        record_by(event, actor, ticket=ticket.pk, **changes)
        for name, value in fields.items():
            setattr(ticket, name, value)
        outbound.emit_change(ticket, changes)
        writeback.queue(ticket, fields)  # to the help desk, on commit; ingestion never comes here: no echo
        ticket_id = ticket.pk
        transaction.on_commit(lambda: live.announce(ticket_id=ticket_id, created=False, message_ids=[]))


def change_status(*, ticket: Ticket, status: str, actor: Any = None) -> None:
    check_transition(ticket.status, status)
    if status != ticket.status:
        _changed(ticket, "ticket.status_changed", actor, status=status)


def change_priority(*, ticket: Ticket, priority: str, actor: Any = None) -> None:
    if priority not in Priority.values:
        raise ValueError(f"Unknown priority {priority!r}; use one of: {', '.join(Priority.values)}.")
    if priority != ticket.priority:
        _changed(ticket, "ticket.priority_changed", actor, priority=priority)


def assign(*, ticket: Ticket, assignee_id: UUID | None, actor: Any = None) -> None:
    if assignee_id != ticket.assignee_id:
        _changed(ticket, "ticket.assigned", actor, assignee_id=assignee_id)


def set_tags(*, ticket: Ticket, tags: list[str], actor: Any = None) -> None:
    cleaned = sorted({t.strip().lower()[:100] for t in tags if t.strip()})
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"A ticket keeps at most {MAX_TAGS} tags; you gave {len(cleaned)}.")
    if cleaned != ticket.tags:
        _changed(ticket, "ticket.tags_changed", actor, tags=cleaned)


def update_ticket(*, client: Client, ticket: Ticket, changes: dict[str, Any], actor: Any = None) -> None:
    """Several operator changes at once (the API's PATCH), all or none."""

    with transaction.atomic():
        if "status" in changes:
            change_status(ticket=ticket, status=changes["status"], actor=actor)
        if "priority" in changes:
            change_priority(ticket=ticket, priority=changes["priority"], actor=actor)
        if "tags" in changes:
            set_tags(ticket=ticket, tags=changes["tags"], actor=actor)
        if "assignee_id" in changes:
            check_assignee(client, changes["assignee_id"])
            assign(ticket=ticket, assignee_id=changes["assignee_id"], actor=actor)


def soft_delete(*, ticket: Ticket, actor: Any = None) -> None:
    _changed(ticket, "ticket.deleted", actor, deleted_at=timezone.now())


__all__ = [
    "IngestResult",
    "TransitionError",
    "assign",
    "change_priority",
    "change_status",
    "create_source",
    "ingest_ticket",
    "quarantine",
    "receive_webhook",
    "reply",
    "set_tags",
    "soft_delete",
    "source_config",
    "update_ticket",
]


# --- webhooks ------------------------------------------------------------------------------------
class UnstorablePayload(Exception):
    """A delivery that parsed but could not be stored; it was quarantined with the reason."""


def receive_webhook(*, client: Client, source: TicketSource, body: bytes, headers: Mapping[str, str]) -> IngestResult:
    """Verify, parse and ingest one webhook delivery. A bad signature raises ``SignatureError`` (nothing
    kept: it is not the sender's); a payload that cannot become a ticket is quarantined, then re-raised."""

    adapter = adapter_for(source, config=source_config(client=client, source=source))
    adapter.verify_webhook(body, headers)
    try:
        normalized = adapter.parse_webhook(body, headers)
    except PayloadError as exc:
        quarantine(source=source, raw=body, error=str(exc), content_type=headers.get("Content-Type", ""))
        raise
    try:
        return ingest_ticket(source=source, normalized=normalized)
    except Exception as exc:  # whatever storing it raised: the delivery is kept with the reason, never lost
        log.warning("webhook_ingest_failed", source=str(source.pk), error=f"{type(exc).__name__}: {exc}")
        quarantine(
            source=source,
            raw=body,
            error=f"Could not be stored: {type(exc).__name__}: {exc}",
            content_type=headers.get("Content-Type", ""),
        )
        raise UnstorablePayload(
            f"The ticket could not be stored ({type(exc).__name__}: {exc}); the delivery is "
            "kept in this source's quarantine."
        ) from exc
