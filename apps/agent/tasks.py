"""Celery tasks of investigations: thin shells that take ids and call the engine and services.

``run_investigation`` acknowledges late and is requeued when its worker dies (reject on worker lost), so
a killed worker's investigation is redelivered; the engine then resumes it or fails it cleanly. Sent
inside a client's schema, each task runs in that schema (tenant-schemas-celery).
"""

from __future__ import annotations

import structlog
from celery import Task
from django.conf import settings
from django.core.mail import send_mail
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.agent import engine
from apps.agent.investigations import fail_stuck, settings_for
from apps.agent.models import Investigation
from gaby_site.celery import app
from tenants.models import Client

log = structlog.get_logger(__name__)


@app.task(name="agent.run_investigation", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=50)
def run_investigation(self: Task, investigation_id: str) -> str:
    outcome = engine.execute(investigation_id)
    if isinstance(outcome, engine.Busy):
        # Redelivered while the previous run's lease is still fresh: look again when it would have expired.
        raise self.retry(countdown=outcome.wait_seconds)
    return outcome


@app.task(name="agent.notify_escalation", bind=True, max_retries=5)
def notify_escalation(self: Task, investigation_id: str) -> str:
    """Email the escalation (SRE-7): to the client's escalation address, else to the assignee."""
    investigation = Investigation.objects.select_related("ticket").filter(pk=investigation_id).first()
    if investigation is None:
        return "gone"
    agent_settings = settings_for()
    recipients = [agent_settings.escalation_email] if agent_settings.escalation_email else []
    if not recipients and agent_settings.escalation_assignee_id:
        from apps.accounts.models import User

        email = User.objects.filter(pk=agent_settings.escalation_assignee_id).values_list("email", flat=True).first()
        recipients = [email] if email else []
    if not recipients:
        return "no-recipient"
    ticket = investigation.ticket
    body = (
        f'Gaby escalated the ticket "{ticket.title}" ({investigation.get_verdict_display()}).\n\n'
        f"Why: {investigation.escalation_reason or investigation.failure_reason or '-'}\n\n"
        f"Summary: {investigation.summary or '-'}\n\n"
        "The evidence bundle (timeline, queries, results, citations) is attached to the ticket as an internal note."
    )
    try:
        send_mail(f"[Gaby] Escalated: {ticket.title[:150]}", body, settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc
    return "sent"


@app.task(name="agent.fail_stuck_investigations")
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


@app.task(name="agent.send_nightly_summaries")
def send_nightly_summaries() -> int:
    """Beat entry: every client whose summary hour has come gets today's summary, once (FND-4)."""
    from django.utils import timezone

    from apps.agent.summary import send_if_due

    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            try:
                sent += send_if_due(client, now=timezone.now()) == "sent"
            except OSError:
                log.warning("nightly_summary_failed", client=client.slug, exc_info=True)
    return sent
