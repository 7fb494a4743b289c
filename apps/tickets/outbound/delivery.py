"""Sending one webhook delivery, at most once per task run and never again once it succeeded.

The task claims the delivery with a conditional UPDATE (pending → sending); only the claimer sends.
A failed attempt hands the claim back (sending → pending, with the time of the next attempt) and asks
the task to retry after an exponential backoff; the last allowed attempt marks it failed. A task that
runs again after success (a retry, a redelivered broker message) finds it delivered and does nothing.
Every attempt carries the event id (``X-Gaby-Event-Id``) so receivers can deduplicate across manual
redeliveries too.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.secrets import unseal
from apps.tickets.outbound import signing
from apps.tickets.outbound.http import PostResult, WebhookHttp
from apps.tickets.outbound.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

MAX_BACKOFF_SECONDS = 6 * 3600


class RetryWebhook(Exception):
    def __init__(self, countdown: int, reason: str) -> None:
        super().__init__(reason)
        self.countdown = countdown


def backoff_seconds(attempt: int) -> int:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): base, 2*base, 4*base, ..."""
    base: int = settings.TICKETS_WEBHOOK_RETRY_BASE_SECONDS
    return int(min(MAX_BACKOFF_SECONDS, base * 2 ** (attempt - 1)))


def claim(delivery_id: UUID | str) -> bool:
    return (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, endpoint__enabled=True).update(
            status=DeliveryStatus.SENDING, claimed_at=timezone.now()
        )
        == 1
    )


def signed_request(delivery: WebhookDelivery, *, secret: str) -> tuple[bytes, dict[str, str]]:
    event = delivery.event
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Gaby-Webhooks/1",
        signing.EVENT_HEADER: event.type,
        signing.EVENT_ID_HEADER: str(event.pk),
        signing.DELIVERY_HEADER: str(delivery.pk),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature(secret, timestamp, body),
    }
    return body, headers


def deliver(delivery_id: UUID | str, *, manual: bool = False) -> str:
    """One attempt; returns what happened. Raises ``RetryWebhook`` when the task should try again later."""
    if not claim(delivery_id):
        return "not-pending"  # delivered, failed, being sent, disabled endpoint, or gone
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    secret = unseal(connection.tenant, endpoint.sealed_secret, purpose=endpoint.secret_purpose)  # type: ignore[attr-defined]
    body, headers = signed_request(delivery, secret=secret)
    result = WebhookHttp(timeout=settings.TICKETS_WEBHOOK_TIMEOUT_SECONDS).post(
        endpoint.url, body=body, headers=headers
    )
    number = delivery.attempts + 1
    last_try = manual or number >= settings.TICKETS_WEBHOOK_MAX_ATTEMPTS
    if result.ok:
        _record(delivery, result, number=number, manual=manual, status=DeliveryStatus.DELIVERED)
        return "delivered"
    if last_try:
        _record(delivery, result, number=number, manual=manual, status=DeliveryStatus.FAILED)
        return "failed"
    countdown = backoff_seconds(number)
    _record(delivery, result, number=number, manual=manual, status=DeliveryStatus.PENDING, retry_in=countdown)
    raise RetryWebhook(countdown, result.error)


def _record(
    delivery: WebhookDelivery, result: PostResult, *, number: int, manual: bool, status: str, retry_in: int = 0
) -> None:
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            status_code=result.status_code,
            error=result.error,
            response_excerpt=result.body_excerpt,
            duration_ms=result.duration_ms,
            manual=manual,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=status,
            attempts=F("attempts") + 1,
            last_status_code=result.status_code,
            last_error=result.error,
            next_attempt_at=now + timedelta(seconds=retry_in) if retry_in else None,
            delivered_at=now if status == DeliveryStatus.DELIVERED else None,
        )


SWEEP_GRACE = timedelta(minutes=10)


def lost_delivery_ids() -> list[UUID]:
    """Pending deliveries well past their time: their task never ran (broker down at commit, worker lost).
    A delivery stuck in ``sending`` is left alone: it may have reached the receiver; an Admin decides."""
    cutoff = timezone.now() - SWEEP_GRACE
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__enabled=True, created_at__lt=cutoff)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lt=cutoff))
        .values_list("id", flat=True)[:1000]
    )
