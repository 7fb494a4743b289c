"""Pushing an operator's ticket changes (status, priority, tags, assignee) back to the help desk.

``queue`` runs inside the service that changed the ticket (same transaction): for each field the
source's adapter can write (``writable_fields``) it records the new value on the ticket's push row
for that field, bumps its version and, on commit, sends a Celery task naming that version. Changes
that arrive *from* the source go through ingestion, which never calls ``queue``: nothing echoes back.

``push`` (the task's body) claims the row with a conditional UPDATE (queued, same version → sending),
so a retried or duplicated task never sends the same version twice, and a task carrying an older
version than the row's never overwrites a newer value. A change made while a push is in flight waits
for it, then goes out as the next version. Transient failures (429 with Retry-After, 5xx, timeouts)
hand the claim back for a retry with backoff; permanent ones and exhausted retries leave the row
``failed`` with the vendor's reason, shown on the ticket with a Retry button (``retry``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core.tasks import enqueue
from apps.tickets import live
from apps.tickets.models import PushField, PushState, Ticket, TicketPush
from apps.tickets.selectors import source_config
from apps.tickets.sources.base import SourceError, TransientSourceError, UnsupportedOperation
from apps.tickets.sources.registry import adapter_class, adapter_for

# Ticket model field -> pushed field.
FIELDS = {
    "status": PushField.STATUS,
    "priority": PushField.PRIORITY,
    "tags": PushField.TAGS,
    "assignee_id": PushField.ASSIGNEE,
}


class RetryPush(Exception):
    """The help desk is temporarily unavailable; the claim was handed back. ``retry_after`` from the vendor."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _assignee_email(user_id: Any) -> str:
    if not user_id:
        return ""

    return str(User.objects.filter(pk=user_id).values_list("email", flat=True).first() or "")


def queue(ticket: Ticket, changes: dict[str, Any]) -> list[UUID]:
    """Record the changed fields the source can write and send their pushes on commit. Returns the push ids."""

    if not any(name in FIELDS for name in changes):
        return []  # e.g. a soft delete: nothing a help desk takes
    writable = adapter_class(ticket.source.kind).writable_fields
    queued: list[UUID] = []
    for name, value in changes.items():
        field = FIELDS.get(name)
        if field is None or field not in writable:
            continue  # the source cannot take it (email, generic webhook, GitHub priority): it stays in Gaby
        pushed = _assignee_email(value) if field == PushField.ASSIGNEE else value
        push, _ = TicketPush.objects.select_for_update().get_or_create(ticket=ticket, field=field)
        push.value, push.version, push.error = pushed, push.version + 1, ""
        in_flight = push.state == PushState.SENDING
        if not in_flight:
            push.state, push.attempts = PushState.QUEUED, 0
        push.save()
        if not in_flight:  # a push in flight sends this version itself when it finishes
            _send_on_commit(push.pk, push.version)
        queued.append(push.pk)
    return queued


def _send_on_commit(push_id: UUID, version: int) -> None:
    def send() -> None:
        enqueue("tickets.push_change", str(push_id), version, task_id=f"push-{push_id}-v{version}")

    transaction.on_commit(send)


def claim(push_id: UUID | str, version: int) -> bool:
    return (
        TicketPush.objects.filter(pk=push_id, state=PushState.QUEUED, version=version).update(
            state=PushState.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        == 1
    )


def _write(adapter: Any, push: TicketPush, external_id: str) -> None:
    if push.field == PushField.STATUS:
        adapter.update_status(external_id, str(push.value))
    elif push.field == PushField.PRIORITY:
        adapter.update_priority(external_id, str(push.value))
    elif push.field == PushField.TAGS:
        adapter.update_tags(external_id, [str(t) for t in push.value or []])
    else:
        adapter.assign(external_id, str(push.value or ""))


def push(push_id: UUID | str, version: int) -> str:
    """Send one version of one field to the help desk; returns what happened (for logs and tests)."""

    if not claim(push_id, version):
        return "not-queued"  # sent already, being sent, superseded by a newer version, or gone
    row = TicketPush.objects.select_related("ticket__source").get(pk=push_id)
    source = row.ticket.source
    try:
        adapter = adapter_for(source, config=source_config(client=connection.tenant, source=source))  # type: ignore[attr-defined]
        _write(adapter, row, row.ticket.external_id)
    except TransientSourceError as exc:
        _finish(row, version, state=PushState.QUEUED, error=f"Will retry: {exc}")
        raise RetryPush(str(exc), retry_after=exc.retry_after) from exc
    except UnsupportedOperation as exc:
        _finish(row, version, state=PushState.FAILED, error=f"{source.name} cannot take this change: {exc}")
        return "unsupported"
    except (SourceError, ValueError) as exc:
        _finish(row, version, state=PushState.FAILED, error=str(exc))
        return "failed"
    _finish(row, version, state=PushState.SENT, error="")
    return "sent"


def _finish(row: TicketPush, version: int, *, state: str, error: str) -> None:
    """Close this attempt. If the operator changed the field meanwhile, the newer version goes out next."""
    with transaction.atomic():
        current = TicketPush.objects.select_for_update().filter(pk=row.pk, state=PushState.SENDING).first()
        if current is None:
            return
        fields: dict[str, Any] = {"state": state, "error": error[:2000], "updated_at": timezone.now()}
        if state == PushState.SENT:
            fields["pushed_version"] = version
        if current.version != version:  # changed meanwhile: whatever this attempt did, the newer value goes out
            fields.update(state=PushState.QUEUED, error="", attempts=0)
            _send_on_commit(current.pk, current.version)
        TicketPush.objects.filter(pk=row.pk).update(**fields)
        ticket_id = row.ticket_id
        transaction.on_commit(lambda: live.announce(ticket_id=ticket_id, created=False, message_ids=[]))


def give_up(push_id: UUID | str, version: int, reason: str) -> None:
    """Retries exhausted: a push still queued with this version is marked failed, for the operator to see."""
    updated = TicketPush.objects.filter(pk=push_id, state=PushState.QUEUED, version=version).update(
        state=PushState.FAILED, error=reason[:2000], updated_at=timezone.now()
    )
    if updated:
        ticket_id = TicketPush.objects.filter(pk=push_id).values_list("ticket_id", flat=True).first()
        if ticket_id:
            live.announce(ticket_id=ticket_id, created=False, message_ids=[])


def retry(*, push_row: TicketPush) -> bool:
    """An operator's Retry on a failed push: queue its current version again."""
    with transaction.atomic():
        updated = TicketPush.objects.filter(pk=push_row.pk, state=PushState.FAILED).update(
            state=PushState.QUEUED, attempts=0, error="", updated_at=timezone.now()
        )
        if updated:
            _send_on_commit(push_row.pk, push_row.version)
    return bool(updated)


# A queued push untouched this long lost its task (broker down at commit, worker gone); the claim makes a
# second task harmless. A push "sending" this long lost its worker mid-call: it may or may not have landed.
LOST_AFTER = timedelta(minutes=15)


def sweep() -> tuple[list[tuple[UUID, int]], int]:
    """Beat housekeeping in one client's schema: (queued pushes to send again as (id, version), how many
    unconfirmed pushes were marked failed). An unconfirmed push is never re-sent by itself: the operator sees
    it failed and presses Retry (the value is absolute, so sending it again is harmless at the help desk)."""
    cutoff = timezone.now() - LOST_AFTER
    stale = TicketPush.objects.filter(state=PushState.SENDING, updated_at__lt=cutoff).update(
        state=PushState.FAILED,
        error="The help desk never confirmed this change (the worker stopped during the push). Retry sends it again.",
        updated_at=timezone.now(),
    )
    lost = list(
        TicketPush.objects.filter(state=PushState.QUEUED, updated_at__lt=cutoff).values_list("pk", "version")[:1000]
    )
    return lost, stale


def unfinished(ticket: Ticket) -> list[TicketPush]:
    """What the ticket page shows: pushes not yet confirmed by the help desk (queued, sending, failed)."""
    return list(ticket.pushes.exclude(state=PushState.SENT).order_by("field"))
