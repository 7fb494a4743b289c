"""Managing webhook endpoints and redelivering: the Admin's operations, each audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.auditlog.audit import record_by
from apps.core.outbound import OutboundRefused, check_url
from apps.core.secrets import seal
from apps.tickets.outbound import events, signing
from apps.tickets.outbound.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from tenants.models import Client


def _clean(url: str, event_types: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError({"url": ["Give a full http:// or https:// URL, e.g. https://example.com/hooks/gaby."]})
    try:
        check_url(url)  # the outbound-URL policy; every delivery checks again (apps/tickets/outbound/http.py)
    except OutboundRefused as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event type(s) {', '.join(unknown)}; use {', '.join(EventType.values)}."]}
        )
    return url, sorted(set(event_types))


def create_endpoint(
    *, client: Client, url: str, event_types: list[str], description: str = "", actor: Any = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is returned this once (stored sealed)."""
    url, event_types = _clean(url, event_types)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(url=url, events=event_types, description=description.strip()[:200])
        endpoint.sealed_secret = seal(client, secret, purpose=endpoint.secret_purpose)
        endpoint.save()
        record_by("webhook_endpoint.created", actor, endpoint=endpoint.pk, url=url, events=event_types)
    return endpoint, secret


def update_endpoint(
    *, endpoint: WebhookEndpoint, url: str, event_types: list[str], enabled: bool, actor: Any = None
) -> None:
    url, event_types = _clean(url, event_types)
    with transaction.atomic():
        endpoint.url, endpoint.events, endpoint.enabled = url, event_types, enabled
        endpoint.save(update_fields=["url", "events", "enabled"])
        record_by("webhook_endpoint.updated", actor, endpoint=endpoint.pk, url=url, events=event_types, enabled=enabled)


def rotate_secret(*, client: Client, endpoint: WebhookEndpoint, actor: Any = None) -> str:
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint.sealed_secret = seal(client, secret, purpose=endpoint.secret_purpose)
        endpoint.save(update_fields=["sealed_secret"])
        record_by("webhook_endpoint.secret_rotated", actor, endpoint=endpoint.pk)
    return secret


def delete_endpoint(*, endpoint: WebhookEndpoint, actor: Any = None) -> None:
    with transaction.atomic():
        record_by("webhook_endpoint.deleted", actor, endpoint=endpoint.pk, url=endpoint.url)
        endpoint.delete()


def redeliver(*, delivery: WebhookDelivery, actor: Any = None) -> bool:
    """Send a finished (delivered or failed) delivery once more, with the same event id; False if it is in flight."""
    with transaction.atomic():
        reopened = WebhookDelivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
        ).update(status=DeliveryStatus.PENDING, next_attempt_at=timezone.now())
        if not reopened:
            return False
        record_by("webhook_delivery.redelivered", actor, delivery=delivery.pk, event_id=delivery.event_id)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: events.enqueue([delivery_id], manual=True))
    return True
