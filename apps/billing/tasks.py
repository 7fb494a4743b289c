"""Billing's Celery tasks: write one time record to its PSA; find the records whose task was lost."""

from __future__ import annotations

from celery import Task, shared_task
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.billing import plans, writeback
from tenants.models import Client


@shared_task(name="billing.write_time", bind=True, max_retries=None)
def write_time(self: Task, record_id: str) -> str:
    try:
        return writeback.write(record_id)
    except writeback.RetryWrite as exc:  # the record holds the reason and when; the task waits that long
        raise self.retry(countdown=exc.countdown) from exc


@shared_task(name="billing.sweep_time")
def sweep_time() -> int:
    """Beat entry: send again every record of every active client whose write task was lost."""
    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            for record_id in writeback.due():
                write_time.apply_async(args=(str(record_id),))
                sent += 1
    return sent


@shared_task(name="billing.quota_notice")
def quota_notice(notice_id: str) -> bool:
    """Tell MSP staff and the client's Admins that a monthly cap nears or is reached (apps/llm/quota.py)."""
    return plans.send_notice(notice_id)
