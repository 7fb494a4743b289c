"""Safety's Celery tasks: run an approved action once; expire approvals nobody decided."""

from __future__ import annotations

from celery import Task, shared_task
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.core.retry import task_countdown
from apps.safety import enforcement, tool_secrets
from apps.safety.notify.service import send_notices
from apps.safety.notify.webhooks import TransientWebhookError
from tenants.models import Client


@shared_task(name="safety.execute_approved")
def execute_approved(action_id: str) -> bool:
    """Sent inside the client's schema by ``approve``; a redelivered or retried task finds it claimed."""
    return enforcement.run_approved(action_id)


@shared_task(name="safety.expire_approvals")
def expire_approvals() -> int:
    """Beat entry: in every active client, approvals past their expiry become expired (and never run), and
    secrets a tool returned that nobody looked at within the approval time are erased."""
    expired = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            expired += enforcement.expire_waiting()
            tool_secrets.forget_unrevealed()
    return expired


@shared_task(name="safety.notify_approvers", bind=True, max_retries=5)
def notify_approvers(self: Task, action_id: str) -> int:
    """Sent inside the client's schema when an action starts waiting; retries only what failed transiently."""
    try:
        return send_notices(action_id)
    except TransientWebhookError as exc:
        countdown = task_countdown(self.request.retries, base=30, cap=3600, retry_after=exc.retry_after)
        raise self.retry(exc=exc, countdown=countdown) from None
