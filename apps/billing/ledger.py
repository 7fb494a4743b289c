"""Recording work as time records: one per concluded investigation, one per operator reply or internal note.

Each record is rated by the client's billing rule (apps/billing/rules.py) as it is made, inside the transaction
that concluded the investigation or stored the message: the work and its record commit together or not at all.
A billable record is queued, and its write-back task sent after the commit (apps/billing/writeback.py).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from apps.agent.models import Investigation, InvestigationStatus
from apps.billing import clock
from apps.billing.models import TimeRecord, Worker, WorkKind, WriteState
from apps.billing.rules import rate, rule_for
from apps.core.tasks import enqueue
from apps.tickets.models import Message, MessageKind, Ticket

GABY = "Gaby"
OPERATOR_KINDS = {MessageKind.PUBLIC_REPLY: WorkKind.REPLY, MessageKind.INTERNAL_NOTE: WorkKind.NOTE}


def record_investigation(investigation: Investigation) -> TimeRecord | None:
    """The record of a concluded investigation (started → finished); None while it has not finished. A finished
    investigation is saved once (apps/agent/writeback.py concludes or fails it under its claim)."""
    if investigation.finished_at is None or investigation.status not in (
        InvestigationStatus.DONE,
        InvestigationStatus.FAILED,
    ):
        return None
    started = investigation.started_at or investigation.finished_at
    seconds = max(0, math.ceil((investigation.finished_at - started).total_seconds()))  # whole seconds, up
    failed = investigation.status == InvestigationStatus.FAILED
    return _create(
        ticket=investigation.ticket,
        kind=WorkKind.INVESTIGATION,
        worker=Worker.GABY,
        worker_label=GABY,
        started_at=started,
        ended_at=investigation.finished_at,
        seconds=seconds,
        summary=investigation.summary,
        refuse="The investigation failed: its time is not billed." if failed else "",
        investigation=investigation,
    )


def record_operator_message(message: Message) -> TimeRecord | None:
    """The record of an operator's reply or note: from opening the ticket's page to sending (apps/billing/clock)."""
    kind = OPERATOR_KINDS.get(MessageKind(message.kind)) if message.kind in MessageKind.values else None
    if kind is None or message.author_user_id is None:
        return None
    measured = clock.stop(message.ticket_id, message.author_user_id)
    ended = message.created_at
    started, seconds = None, 0
    if measured is not None:
        started = datetime.fromtimestamp(measured[0], tz=UTC)
        seconds = max(0, math.ceil(measured[1] - measured[0]))
    return _create(
        ticket=message.ticket,
        kind=kind,
        worker=Worker.OPERATOR,
        worker_label=message.author_label,
        user_id=message.author_user_id,
        started_at=started,
        ended_at=ended,
        seconds=seconds,
        message=message,
    )


def _create(
    *,
    ticket: Ticket,
    kind: str,
    worker: str,
    worker_label: str,
    started_at: datetime | None,
    ended_at: datetime,
    seconds: int,
    summary: str = "",
    refuse: str = "",
    **link: Any,
) -> TimeRecord:
    rule = rule_for(ticket.source_id)
    context = {
        "ticket": {"external_id": ticket.external_id, "title": ticket.title},
        "kind": WorkKind(kind).label,
        "worker": worker_label,
        "minutes": round(seconds / 60, 1),
        "summary": summary,
    }
    rated = rate(ticket=ticket, worker=worker, seconds=seconds, rule=rule, note_context=context)
    if refuse:
        state, reason = WriteState.NOT_BILLED, refuse
    elif not rated.billable:
        state, reason = WriteState.NOT_BILLED, rated.reason
    elif rated.reason:  # billable, but the note could not be written
        state, reason = WriteState.FAILED, rated.reason
    else:
        state, reason = WriteState.QUEUED, ""
    billable = rated.billable and not refuse
    record = TimeRecord(
        ticket=ticket,
        kind=kind,
        worker=worker,
        worker_label=worker_label[:300],
        started_at=started_at,
        ended_at=ended_at,
        seconds=seconds,
        billed_minutes=rated.billed_minutes if billable else 0,
        billable=billable,
        work_type=rule.work_type if rule else "",
        agreement_id=rule.agreement_id if rule else "",
        member_id=rule.member_id if rule and worker == Worker.GABY else "",
        note=rated.note,
        state=state,
        reason=reason,
        next_attempt_at=ended_at if state == WriteState.QUEUED else None,
        **link,
    )
    # One statement, and never a second record for the same investigation or message (a replayed save): the
    # one-to-one columns are unique, and a conflicting insert does nothing.
    TimeRecord.objects.bulk_create([record], ignore_conflicts=True)
    if state == WriteState.QUEUED:
        record_id = record.pk
        transaction.on_commit(lambda: enqueue_write(record_id))
    return record


def enqueue_write(record_id: Any, *, countdown: float = 0) -> None:
    enqueue("billing.write_time", str(record_id), countdown=countdown)
