"""Writing a billable time record to the ticket's PSA exactly once, even when a worker dies mid-write.

1. **Claim** with a conditional UPDATE: a queued record that is due, or one left ``writing`` longer than
   ``LEASE`` (its worker was lost). The claim commits the attempt (count and time) *before* the vendor call.
2. **Look before writing again**: when an earlier attempt may have landed (any attempt before this one), the
   source is asked for the entry carrying the record's marker (``[gaby-time:<id>]`` in the note). Found: the
   record is written, nothing is sent. A source that cannot be asked: after a lost worker the record becomes
   *unconfirmed* for a person to check (never written twice); after an answered error (429, 5xx) it is sent again.
3. **Write** through ``write_time_entry`` (which any adapter with ``log_time_entry`` has), then finish with an
   UPDATE conditional on still holding this attempt. Transient errors go back to the queue with a backoff and the
   reason shown on the ticket; permanent errors, and retries exhausted, fail with the reason.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from apps.billing.models import TimeRecord, WriteState
from apps.core.retry import task_countdown
from apps.tickets.selectors import source_config
from apps.tickets.sources.base import (
    SourceAdapter,
    SourceError,
    TimeEntry,
    TransientSourceError,
    UnsupportedOperation,
)
from apps.tickets.sources.registry import adapter_for

ADAPTERS_KEPT = 64  # sources whose adapter a worker process keeps between records
_ADAPTERS: dict[tuple[str, str, str], SourceAdapter] = {}
_ADAPTERS_LOCK = threading.Lock()
LEASE = timedelta(minutes=10)  # far longer than one vendor call (HTTP timeouts are 30 s)
MAX_ATTEMPTS = 8


class RetryWrite(Exception):
    def __init__(self, message: str, *, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown


@dataclass(frozen=True)
class Attempt:
    record: TimeRecord
    number: int  # this attempt's count: the finish is conditional on it
    after_lost_worker: bool  # the previous attempt's worker never finished


def claim(record_id: UUID | str, *, now: datetime | None = None) -> Attempt | None:
    moment = now or timezone.now()
    due = Q(state=WriteState.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=moment))
    lost = Q(state=WriteState.WRITING, attempted_at__lt=moment - LEASE)
    for condition, after_lost in ((due, False), (lost, True)):
        taken = TimeRecord.objects.filter(condition, pk=record_id).update(
            state=WriteState.WRITING, attempted_at=moment, attempts=F("attempts") + 1
        )
        if taken == 1:
            record = TimeRecord.objects.select_related("ticket__source").get(pk=record_id)
            return Attempt(record=record, number=record.attempts, after_lost_worker=after_lost)
    return None


def entry_for(record: TimeRecord) -> TimeEntry:
    return TimeEntry(
        key=str(record.pk),
        ticket_external_id=record.ticket.external_id,
        minutes=record.billed_minutes,
        note=record.note,
        billable=record.billable,
        work_type=record.work_type,
        agreement_id=record.agreement_id,
        member_id=record.member_id,
    )


def adapter_of(record: TimeRecord) -> SourceAdapter:
    """The source's adapter, kept for the next record of the same source in this process while its sealed
    configuration is unchanged: building one costs an HTTP client with a fresh TLS context (about 17 ms, more than
    the write itself against a near PSA) and its kept-alive connections are worth reusing."""
    source = record.ticket.source
    schema = connection.schema_name  # type: ignore[attr-defined]
    key = (schema, str(source.pk), hashlib.sha256(source.sealed_config.encode()).hexdigest())
    with _ADAPTERS_LOCK:
        adapter = _ADAPTERS.pop(key, None)
        if adapter is None:
            config = source_config(client=connection.tenant, source=source)  # type: ignore[attr-defined]
            adapter = adapter_for(source, config=config)
        _ADAPTERS[key] = adapter  # the most recently used last
        while len(_ADAPTERS) > ADAPTERS_KEPT:
            _ADAPTERS.pop(next(iter(_ADAPTERS)))
    return adapter


def write(record_id: UUID | str, *, now: datetime | None = None) -> str:
    """One attempt at writing the record; returns what happened. Raises ``RetryWrite`` to be tried again later."""
    attempt = claim(record_id, now=now)
    if attempt is None:
        return "not-due"  # written, being written, not billed, failed, waiting for its time, or gone
    return perform(attempt)


def perform(attempt: Attempt) -> str:
    record, entry = attempt.record, entry_for(attempt.record)
    label = record.ticket.source.get_kind_display()
    try:
        adapter = adapter_of(record)
        if attempt.number > 1:
            try:
                found = adapter.find_time_entry(entry)
            except UnsupportedOperation:
                if attempt.after_lost_worker:
                    return _finish(
                        attempt,
                        WriteState.UNCONFIRMED,
                        reason=f"A worker stopped while writing this time and {label} cannot be asked whether it "
                        "landed: check the ticket in the PSA, then mark it written or write it again.",
                    )
                found = None
            if found is not None:
                return _finish(attempt, WriteState.WRITTEN, external_id=found)
        external_id = adapter.write_time_entry(entry)
    except UnsupportedOperation as exc:
        return _finish(attempt, WriteState.NOT_BILLED, reason=f"Not written: {exc}")
    except TransientSourceError as exc:
        if attempt.number >= MAX_ATTEMPTS:
            return _finish(attempt, WriteState.FAILED, reason=f"Gave up after {attempt.number} attempts: {exc}")
        countdown = task_countdown(attempt.number - 1, base=10, cap=1800, retry_after=exc.retry_after)
        _finish(
            attempt,
            WriteState.QUEUED,
            reason=f"{label} did not take it (attempt {attempt.number}): {exc}. Trying again in {countdown:.0f} s.",
            next_attempt_at=timezone.now() + timedelta(seconds=countdown * 0.9),  # the retry finds it due
        )
        raise RetryWrite(str(exc), countdown=countdown) from exc
    except SourceError as exc:
        return _finish(attempt, WriteState.FAILED, reason=f"{label} refused the time entry: {exc}")
    return _finish(attempt, WriteState.WRITTEN, external_id=external_id)


def _finish(attempt: Attempt, state: str, *, reason: str = "", external_id: str = "", **extra: Any) -> str:
    fields: dict[str, Any] = {"state": state, "reason": reason[:2000], **extra}
    if state == WriteState.WRITTEN:
        fields.update(external_id=external_id[:200], written_at=timezone.now())
    TimeRecord.objects.filter(pk=attempt.record.pk, state=WriteState.WRITING, attempts=attempt.number).update(**fields)
    return str(state)


def due(*, now: datetime | None = None, grace: timedelta = timedelta(minutes=2)) -> list[UUID]:
    """Records whose task was lost: queued and overdue by ``grace``, or writing past the lease."""
    moment = now or timezone.now()
    overdue = Q(state=WriteState.QUEUED, next_attempt_at__lte=moment - grace)
    lost = Q(state=WriteState.WRITING, attempted_at__lt=moment - LEASE)
    return list(TimeRecord.objects.filter(overdue | lost).values_list("pk", flat=True)[:1000])


def requeue(record: TimeRecord, *, written_by_hand: bool = False) -> bool:
    """An operator's decision on a failed or unconfirmed record: write it again, or it is already in the PSA."""
    allowed = [WriteState.FAILED, WriteState.UNCONFIRMED]
    if written_by_hand:
        fields: dict[str, Any] = {
            "state": WriteState.WRITTEN,
            "reason": "Marked written by an operator.",
            "written_at": timezone.now(),
        }
        allowed = [WriteState.UNCONFIRMED]
    else:
        fields = {"state": WriteState.QUEUED, "reason": "", "next_attempt_at": timezone.now()}
    return TimeRecord.objects.filter(pk=record.pk, state__in=allowed).update(**fields) == 1
