"""Polling a source: which sources are due, one poll at a time per source, and recovery from failure.

A poll claims its source with a lease (``polling_since``) by conditional UPDATE, pulls pages from the
cursor and ingests each ticket; one that cannot be stored is quarantined, never a reason to stop. It
stores the cursor after every item when the source says where each ends (email: a message's UID) and
after every page (so a crash resumes, and re-ingesting is harmless because ingestion is idempotent),
then schedules the next poll. A failing source keeps its error and backs off exponentially (capped),
and is polled again by itself until it recovers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from apps.tickets import services
from apps.tickets.models import TicketSource
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.base import Page, Rejected, Step, UnsupportedOperation
from apps.tickets.sources.registry import ADAPTERS, adapter_for

LEASE = timedelta(minutes=10)
MAX_BACKOFF_SECONDS = 3600
MAX_PAGES_PER_POLL = 20


@dataclass
class PollResult:
    status: str  # "ok" | "failed" | "busy" | "gone" | "disabled"
    created: int = 0
    updated: int = 0
    new_messages: int = 0
    quarantined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def summary(self) -> str:
        parts = [f"{self.created} new", f"{self.updated} updated", f"{self.new_messages} new messages"]
        if self.quarantined:
            parts.append(f"{self.quarantined} quarantined")
        parts += [f"{count} {kind} skipped" for kind, count in sorted(self.skipped.items())]
        return "ok: " + ", ".join(parts)


def due_source_ids(now: datetime | None = None) -> list[UUID]:
    now = now or timezone.now()
    free = Q(polling_since__isnull=True) | Q(polling_since__lt=now - LEASE)
    due = Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)

    pollable = [kind for kind, adapter in ADAPTERS.items() if adapter.can_poll]
    return list(TicketSource.objects.filter(free, due, enabled=True, kind__in=pollable).values_list("pk", flat=True))


def claim(source_id: UUID | str, now: datetime) -> bool:
    free = Q(polling_since__isnull=True) | Q(polling_since__lt=now - LEASE)
    return TicketSource.objects.filter(free, pk=source_id, enabled=True).update(polling_since=now) == 1


def backoff_seconds(interval: int, failures: int) -> int:
    return int(min(max(interval, 1) * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS))


def _raw_of(ticket: Any) -> str:
    messages = tuple(
        replace(m, attachments=tuple(replace(a, fetch=None) for a in m.attachments)) for m in ticket.messages
    )
    data = asdict(replace(ticket, messages=messages))
    for message in data.get("messages", []):
        for attachment in message.get("attachments", []):
            attachment["content"] = f"<{len(attachment['content'])} bytes>"
    return json.dumps(data, default=str, indent=2)


def _steps_of(page: Page) -> list[Step]:
    """The items of a page that gives no place per item: each is kept in turn, the page's cursor after all."""
    items: list[NormalizedTicket | Rejected] = [*page.tickets, *page.rejected]
    return [Step(item, {}) for item in items]


def _take(source: TicketSource, step: Step, result: PollResult) -> None:
    """Store one item of a pull, or keep it in quarantine with the reason. Raises only when neither can be
    written (the database went away): the poll then stops before this item and reads it again next time."""
    item = step.item
    if isinstance(item, str):
        result.skipped[item] = result.skipped.get(item, 0) + 1
        return
    if isinstance(item, Rejected):
        services.quarantine(source=source, raw=item.raw, error=item.error, content_type=item.content_type)
        result.quarantined += 1
        return
    try:
        ingested = services.ingest_ticket(source=source, normalized=item)
    except Exception as exc:  # a ticket that cannot be stored is kept, as the source sent it when we have that
        error = f"could not store: {exc.__class__.__name__}: {exc}"
        if step.raw:
            services.quarantine(source=source, raw=step.raw, error=error, content_type=step.raw_type)
        else:
            services.quarantine(source=source, raw=_raw_of(item), error=error, content_type="application/json")
        result.quarantined += 1
        return
    result.created += int(ingested.created)
    result.updated += int(not ingested.created and bool(ingested.new_messages))
    result.new_messages += len(ingested.new_messages)


def poll(source_id: UUID | str) -> PollResult:
    now = timezone.now()
    source = TicketSource.objects.filter(pk=source_id).first()
    if source is None:
        return PollResult(status="gone")
    if not source.enabled:
        return PollResult(status="disabled")
    if not claim(source_id, now):
        return PollResult(status="busy")
    result = PollResult(status="ok")
    try:
        adapter = adapter_for(source, config=services.source_config(client=connection.tenant, source=source))  # type: ignore[attr-defined]
        cursor: dict[str, Any] = dict(source.cursor or {})
        for _ in range(MAX_PAGES_PER_POLL):
            page = adapter.pull_since(cursor)
            for step in page.steps or _steps_of(page):
                _take(source, step, result)
                if step.cursor:  # this item is stored or kept: a later failure never reads it again
                    TicketSource.objects.filter(pk=source.pk).update(cursor=step.cursor)
            for kind, count in page.skipped.items():
                result.skipped[kind] = result.skipped.get(kind, 0) + count
            cursor = page.cursor
            TicketSource.objects.filter(pk=source.pk).update(cursor=cursor)
            if not page.has_more:
                break
    except UnsupportedOperation as exc:
        _record_failure(source, now, f"{exc} Disable polling for this source.")
        return PollResult(status="failed", error=str(exc))
    except Exception as exc:  # any failure: recorded on the source, retried with backoff, never silent
        message = f"{exc.__class__.__name__}: {exc}"
        _record_failure(source, now, message)
        return PollResult(status="failed", error=message)
    TicketSource.objects.filter(pk=source.pk).update(
        last_sync_at=now,
        last_status=result.summary()[:200],
        last_error="",
        consecutive_failures=0,
        next_poll_at=now + timedelta(seconds=source.poll_interval_seconds),
        polling_since=None,
    )
    return result


def _record_failure(source: TicketSource, now: datetime, error: str) -> None:
    failures = source.consecutive_failures + 1
    delay = backoff_seconds(source.poll_interval_seconds, failures)
    TicketSource.objects.filter(pk=source.pk).update(
        last_status=f"failing since {failures} poll(s); next try in {delay}s",
        last_error=error[:5000],
        consecutive_failures=F("consecutive_failures") + 1,
        next_poll_at=now + timedelta(seconds=delay),
        polling_since=None,
    )
