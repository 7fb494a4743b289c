"""Domain operations on investigations: start (idempotent per ticket), apply or discard a drafted reply, re-run.

Pages, the API, the auto-investigate hook and commands call these; the engine (``apps/agent/engine.py``)
runs what they queue, and ``apps/agent/writeback.py`` concludes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.agent.learning import propose_from_correction
from apps.agent.models import (
    ACTIVE_STATUSES,
    AgentSettings,
    AutonomyChoice,
    Investigation,
    InvestigationStatus,
    ReplyState,
    VerdictChoice,
)
from apps.agent.runtime import current_client, settings_for, try_status
from apps.agent.writeback import fail
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.core.tasks import enqueue as enqueue_task
from apps.safety.policy import Autonomy
from apps.tickets import services as tickets
from apps.tickets.models import MessageKind, Status, Ticket
from tenants.models import Client


class InvestigationError(Exception):
    """An operation that cannot happen now; the message says why."""


def effective_autonomy(client: Client, ticket: Ticket) -> Autonomy:
    """The most restrictive of the client's setting (MSP-3) and the ticket source's own limit, if it has one."""
    levels = [Autonomy.from_client_setting(client.autonomy)]
    if ticket.source.autonomy:  # empty: the source inherits
        levels.append(Autonomy(ticket.source.autonomy))
    return min(levels, key=lambda level: level.rank)


def _actor(actor: Any) -> dict[str, Any]:
    """Who an audit event names: the user who asked, else Gaby."""
    user_id = getattr(actor, "pk", None)
    return {"actor_kind": ActorKind.USER if user_id else ActorKind.AGENT, "actor_id": user_id or ""}


def _audit(event: str, actor: Any, **payload: Any) -> None:
    record(event=event, payload=payload, **_actor(actor))


def start_investigation(
    *, ticket: Ticket, triggered_by: str = "auto", actor: Any = None, depth: str | None = None, queue: bool = True
) -> Investigation:
    """Queue an investigation of ``ticket``; while one is queued or running, that one is returned."""
    client = current_client()
    agent_settings = settings_for()
    active = Investigation.objects.filter(ticket=ticket, status__in=ACTIVE_STATUSES).values_list("pk", flat=True)
    if active_id := active.first():
        return Investigation.objects.get(pk=active_id)
    investigation = Investigation(
        ticket=ticket,
        depth=depth or agent_settings.default_depth,
        tone=agent_settings.tone,
        autonomy=AutonomyChoice(effective_autonomy(client, ticket).value),
        triggered_by=triggered_by,
        triggered_by_user_id=getattr(actor, "pk", None),
    )
    try:
        # The database keeps one active investigation per ticket: a concurrent start that won since the
        # check above makes this insert fail, and that one is returned.
        with transaction.atomic():
            investigation.save()
            _audit(
                "investigation.queued",
                actor,
                investigation=investigation.pk,
                ticket=ticket.pk,
                triggered_by=triggered_by,
                depth=investigation.depth,
            )
    except IntegrityError:
        return Investigation.objects.get(ticket=ticket, status__in=ACTIVE_STATUSES)
    investigation_id = investigation.pk
    if queue:  # False: the caller runs it in-process (evals, benchmarks) with engine.execute
        transaction.on_commit(lambda: enqueue(investigation_id))
    return investigation


def enqueue(investigation_id: UUID | str) -> None:
    enqueue_task("agent.run_investigation", str(investigation_id), task_id=f"investigate-{investigation_id}")


def rerun(*, ticket: Ticket, actor: Any, depth: str | None = None) -> Investigation:
    if Investigation.objects.filter(ticket=ticket, status__in=ACTIVE_STATUSES).exists():
        raise InvestigationError("An investigation of this ticket is already running; wait for it to finish.")
    return start_investigation(ticket=ticket, triggered_by="rerun", actor=actor, depth=depth)


def apply_reply(*, investigation: Investigation, actor: Any, body: str | None = None) -> Investigation:
    """Send a drafted reply (edited or not) to the customer: one click, exactly once."""
    with transaction.atomic():
        locked = Investigation.objects.select_for_update().select_related("ticket__source").get(pk=investigation.pk)
        if locked.reply_state != ReplyState.DRAFTED:
            raise InvestigationError(f"This reply is {locked.get_reply_state_display().lower()}: nothing to apply.")
        text = (body if body is not None else locked.reply).strip()
        if not text:
            raise InvestigationError("The reply is empty: write something before sending it.")
        message = tickets.reply(ticket=locked.ticket, body=text, kind=MessageKind.PUBLIC_REPLY, author=actor)
        propose_from_correction(locked, text)
        if locked.verdict == VerdictChoice.AUTO_RESOLVED:
            try_status(locked.ticket, Status.SOLVED, actor)
        elif locked.verdict == VerdictChoice.NEEDS_CLIENT:
            try_status(locked.ticket, Status.PENDING, actor)
        Investigation.objects.filter(pk=locked.pk).update(
            reply=text, reply_state=ReplyState.APPLIED, reply_message_id=message.pk
        )
        _audit(
            "investigation.reply_applied",
            actor,
            investigation=locked.pk,
            message=message.pk,
            edited=text != locked.reply.strip(),
        )
    investigation.refresh_from_db()
    return investigation


def discard_reply(*, investigation: Investigation, actor: Any) -> Investigation:
    with transaction.atomic():
        if not Investigation.objects.filter(pk=investigation.pk, reply_state=ReplyState.DRAFTED).update(
            reply_state=ReplyState.DISCARDED
        ):
            investigation.refresh_from_db()
            state = investigation.get_reply_state_display().lower()
            raise InvestigationError(f"This reply is {state}: nothing to discard.")
        _audit("investigation.reply_discarded", actor, investigation=investigation.pk)
    investigation.refresh_from_db()
    return investigation


def fail_stuck(*, older_than_seconds: float, queued_older_than_seconds: float) -> int:
    """Beat sweep: a running investigation with no heartbeat, or one queued too long, fails with a reason."""
    now = timezone.now()
    failed = 0
    running = Investigation.objects.filter(
        status=InvestigationStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=older_than_seconds)
    )
    for investigation in running:
        minutes = max(1, round(older_than_seconds / 60))
        if fail(
            investigation=investigation,
            attempt=investigation.attempts,
            expected=InvestigationStatus.RUNNING,
            reason=f"No heartbeat for over {minutes} minute(s): the worker running it stopped.",
        ):
            failed += 1
    queued = Investigation.objects.filter(
        status=InvestigationStatus.QUEUED, created_at__lt=now - timedelta(seconds=queued_older_than_seconds)
    )
    for investigation in queued:
        if fail(
            investigation=investigation,
            attempt=investigation.attempts,
            expected=InvestigationStatus.QUEUED,
            reason="No worker picked it up in time: is the Celery worker running?",
        ):
            failed += 1
    return failed


@transaction.atomic
def save_settings(*, changes: dict[str, Any], actor: Any) -> AgentSettings:
    """Update the client's investigation settings and audit what changed."""
    row = settings_for()
    before = {name: getattr(row, name) for name in changes}
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()
    changed = {name: [str(before[name]), str(value)] for name, value in changes.items() if before[name] != value}
    if changed:
        _audit("investigation.settings_changed", actor, changes=changed)
    return row
