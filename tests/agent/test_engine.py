"""Claiming, resuming and sweeping: a redelivered run never acts twice, a stuck one fails with a reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.agent import engine
from apps.agent.context import RunContext
from apps.agent.investigations import fail_stuck, start_investigation
from apps.agent.models import Investigation, InvestigationStatus
from apps.safety.models import ToolAction
from apps.tickets.models import MessageKind

pytestmark = pytest.mark.django_db


def test_a_fresh_run_is_busy_a_stale_one_resumes_without_repeating_calls(
    make_ticket: Any, billing_db: Any, in_hartwell: Any, settings: Any
) -> None:
    investigation = start_investigation(ticket=make_ticket())
    Investigation.objects.filter(pk=investigation.pk).update(
        status=InvestigationStatus.RUNNING, attempts=1, heartbeat_at=timezone.now()
    )
    investigation.refresh_from_db()
    # The first worker made a call before it died.
    RunContext(investigation, source_autonomy=None).call_tool("postgres", "list_tables", {}, purpose="before the crash")
    assert isinstance(engine.execute(investigation.pk), engine.Busy)
    Investigation.objects.filter(pk=investigation.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert engine.execute(investigation.pk) == "done"
    investigation.refresh_from_db()
    assert investigation.attempts == 2 and investigation.status == "done"
    assert any("Resumed after the worker stopped" in t for t in investigation.steps.values_list("title", flat=True))
    assert ToolAction.objects.count() == 1
    assert engine.execute(investigation.pk) == "finished"  # a late duplicate does nothing


def test_too_many_attempts_fail_cleanly(make_ticket: Any, in_hartwell: Any, settings: Any) -> None:
    investigation = start_investigation(ticket=make_ticket())
    Investigation.objects.filter(pk=investigation.pk).update(
        status=InvestigationStatus.RUNNING, attempts=3, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert engine.execute(investigation.pk) == "failed"
    investigation.refresh_from_db()
    assert investigation.failure_reason == "The worker stopped 3 times while running it; giving up."
    assert investigation.ticket.messages.filter(kind=MessageKind.INTERNAL_NOTE).count() == 1


def test_the_sweep_fails_stuck_and_unclaimed_investigations(make_ticket: Any, in_hartwell: Any) -> None:
    stuck = start_investigation(ticket=make_ticket(external_id="T-1"))
    waiting = start_investigation(ticket=make_ticket(external_id="T-2"))
    alive = start_investigation(ticket=make_ticket(external_id="T-3"))
    long_ago = timezone.now() - timedelta(hours=2)
    Investigation.objects.filter(pk=stuck.pk).update(status="running", attempts=1, heartbeat_at=long_ago)
    Investigation.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    Investigation.objects.filter(pk=alive.pk).update(status="running", attempts=1, heartbeat_at=timezone.now())
    assert fail_stuck(older_than_seconds=600, queued_older_than_seconds=3600) == 2
    stuck.refresh_from_db()
    waiting.refresh_from_db()
    alive.refresh_from_db()
    assert stuck.status == "failed" and stuck.failure_reason.startswith("No heartbeat for over 10 minute(s)")
    assert waiting.status == "failed" and "No worker picked it up" in waiting.failure_reason
    assert alive.status == "running"
    assert engine.execute(stuck.pk) == "finished"  # the dead worker's redelivery finds it concluded


def test_a_missing_investigation_is_skipped(in_hartwell: Any) -> None:
    assert engine.execute("01a20000-0000-7000-8000-000000000000") == "gone"
