"""Diagnostics that prove the worker runs tasks inside the right client's schema."""

from __future__ import annotations

from celery import shared_task
from django.contrib.admin.models import LogEntry
from django.db import connection


@shared_task(name="tenants.probe")
def probe() -> dict[str, object]:
    """Report the schema this task ran in and how many admin log rows that schema holds."""

    tenant = getattr(connection, "tenant", None)
    return {
        "schema": getattr(connection, "schema_name", None),
        "client": getattr(tenant, "name", None),
        "admin_log_rows": LogEntry.objects.count(),
    }
