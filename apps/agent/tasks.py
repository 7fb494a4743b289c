"""Celery tasks of investigations: thin shells that take ids and call the engine and services.

``run_investigation`` acknowledges late and is requeued when its worker dies (reject on worker lost), so
a killed worker's investigation is redelivered; the engine then resumes it or fails it cleanly. Sent
inside a client's schema, each task runs in that schema (tenant-schemas-celery).
"""

from __future__ import annotations

import structlog
from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.agent import engine
from apps.agent.escalation_notices import send_escalation_notices
from apps.agent.investigations import fail_stuck
from apps.agent.summary import send_if_due
from apps.core.retry import task_countdown
from apps.safety.notify.webhooks import TransientWebhookError
from tenants.models import Client

log = structlog.get_logger(__name__)


@shared_task(name="agent.run_investigation", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def run_investigation(self: Task, investigation_id: str) -> str:
    outcome = engine.execute(investigation_id)
    if isinstance(outcome, engine.Busy):
        # Redelivered while the previous run's lease is still fresh: look again when it would have expired.
        raise self.retry(countdown=outcome.wait_seconds)
    return outcome


@shared_task(name="agent.notify_escalation", bind=True, max_retries=5)
def notify_escalation(self: Task, investigation_id: str) -> str:
    """Announce the escalation (SRE-7) by email (the escalation address, else the assignee), and to the client's
    Slack and Teams channels when it chose so; each channel once (apps/agent/escalation_notices.py)."""

    try:
        sent, planned = send_escalation_notices(investigation_id)
    except TransientWebhookError as exc:
        countdown = task_countdown(self.request.retries, base=10, cap=600, retry_after=exc.retry_after)
        raise self.retry(exc=exc, countdown=countdown) from exc
    if not planned:
        return "no-recipient"
    return "sent" if sent else "already-sent"


@shared_task(name="agent.fail_stuck_investigations")
def fail_stuck_investigations() -> int:
    """Beat entry: in every active client, fail investigations whose worker stopped or that nobody picked up."""
    failed = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            failed += fail_stuck(
                older_than_seconds=settings.AGENT_STUCK_AFTER_SECONDS,
                queued_older_than_seconds=settings.AGENT_QUEUED_TIMEOUT_SECONDS,
            )
    return failed


@shared_task(name="agent.send_nightly_summaries")
def send_nightly_summaries() -> int:
    """Beat entry: every client whose summary hour has come gets today's summary, once (FND-4)."""

    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            try:
                sent += send_if_due(client, now=timezone.now()) == "sent"
            except OSError:
                log.warning("nightly_summary_failed", client=client.slug, exc_info=True)
    return sent
