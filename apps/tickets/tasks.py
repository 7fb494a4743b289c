"""Celery tasks of the tickets app: thin shells that take ids and call the domain modules.

Tasks sent inside a client's schema run inside it (tenant-schemas-celery); the beat fan-out runs in
the public schema and sends one poll per due source of every active client, each in its schema.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.core.ids import uuid7
from apps.core.retry import task_countdown
from apps.tickets import delivery, polling, writeback
from apps.tickets.outbound import delivery as outbound_delivery
from tenants.models import Client

MAX_DELIVERY_RETRIES = 8


@shared_task(name="tickets.deliver_message", bind=True, max_retries=MAX_DELIVERY_RETRIES)
def deliver_message(self: Task, message_id: str) -> str:
    try:
        return delivery.deliver(message_id)
    except delivery.RetryDelivery as exc:
        if self.request.retries >= MAX_DELIVERY_RETRIES:
            delivery.give_up(message_id, f"gave up after {self.request.retries + 1} attempts: {exc}")
            return "failed"
        raise self.retry(countdown=task_countdown(self.request.retries, base=5, cap=900)) from exc


@shared_task(name="tickets.push_change", bind=True, max_retries=None)
def push_change(self: Task, push_id: str, version: int) -> str:
    """One field's change to the help desk; backs off (or waits what Retry-After asks), then marks it failed."""
    try:
        return writeback.push(push_id, version)
    except writeback.RetryPush as exc:
        retries = self.request.retries
        if retries >= settings.TICKETS_PUSH_MAX_RETRIES:
            writeback.give_up(push_id, version, f"Gave up after {retries + 1} attempts: {exc}")
            return "failed"
        countdown = task_countdown(retries, base=5, cap=900, retry_after=exc.retry_after)
        raise self.retry(countdown=countdown) from exc


@shared_task(name="tickets.sweep_pushes")
def sweep_pushes() -> int:
    """Beat entry: send again every queued push whose task was lost; unconfirmed ones become failed (Retry)."""
    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            lost, _ = writeback.sweep()
            for push_id, version in lost:
                push_change.apply_async(
                    args=(str(push_id), version), task_id=f"push-{push_id}-v{version}-{uuid7().hex}"
                )
                sent += 1
    return sent


@shared_task(name="tickets.poll_source")
def poll_source(source_id: str) -> str:
    return polling.poll(source_id).status


@shared_task(name="tickets.poll_due_sources")
def poll_due_sources() -> int:
    """Beat entry: send a poll for every enabled source, of every active client, whose interval elapsed."""
    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            for source_id in polling.due_source_ids():
                poll_source.delay(str(source_id))
                sent += 1
    return sent


@shared_task(name="tickets.deliver_webhook", bind=True, max_retries=None)
def deliver_webhook(self: Task, delivery_id: str, manual: bool = False) -> str:
    """One attempt of an outbound webhook; the delivery module decides when to stop retrying."""
    try:
        return outbound_delivery.deliver(delivery_id, manual=manual)
    except outbound_delivery.RetryWebhook as exc:
        raise self.retry(countdown=exc.countdown) from exc


@shared_task(name="tickets.sweep_webhooks")
def sweep_webhooks() -> int:
    """Beat entry: queue again every pending delivery, of every active client, whose task was lost."""
    sent = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            for delivery_id in outbound_delivery.lost_delivery_ids():
                deliver_webhook.apply_async(
                    args=(str(delivery_id),), task_id=f"webhook-{delivery_id}-sweep-{uuid7().hex}"
                )
                sent += 1
    return sent
