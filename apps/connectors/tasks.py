"""Health checks (CON-5): the beat fans out one task per connector, each running in its client's schema."""

from __future__ import annotations

from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.connectors.models import Connector
from apps.connectors.services import check_health
from tenants.models import Client

log = structlog.get_logger(__name__)


@shared_task(name="connectors.check_connector", ignore_result=True)
def check_connector(connector_id: str) -> str | None:
    """Check one connector; a second copy of the task within half an interval finds nothing to claim."""

    recently = timezone.now() - timedelta(seconds=settings.CONNECTOR_HEALTH_INTERVAL / 2)
    claimed = (
        Connector.objects.filter(pk=connector_id, enabled=True)
        .filter(Q(last_health_at__isnull=True) | Q(last_health_at__lt=recently))
        .update(last_health_at=timezone.now())
    )
    if claimed != 1:
        return None  # gone, disabled, or another worker just checked it
    connector = Connector.objects.get(pk=connector_id)
    return check_health(connector=connector)


@shared_task(name="connectors.check_all_clients", ignore_result=True)
def check_all_clients() -> int:
    """From the public schema: queue a check of every enabled connector of every active client."""

    queued = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name="public"):
        with tenant_context(client):
            for connector_id in Connector.objects.filter(enabled=True).values_list("id", flat=True):
                check_connector.delay(str(connector_id))  # sent inside the schema: runs there
                queued += 1
    log.info("connector_health_queued", connectors=queued)
    return queued
