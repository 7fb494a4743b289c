"""Knowledge tasks. Sent inside a client's schema, they run inside it (tenant-schemas-celery)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django_tenants.utils import tenant_context

from apps.knowledge.candidates import expire_candidates
from apps.knowledge.readers import ReaderError
from apps.knowledge.reembed import run_queued_reembed
from apps.knowledge.services import due_sources, fail_stalled_syncs, request_sync, run_queued_sync
from tenants.models import Client

log = logging.getLogger(__name__)

# A worker's database connection dropping is transient: retried with backoff; the task's claim makes a retry safe.
RETRY_ON_DATABASE_ERRORS: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(name="knowledge.sync_source", **RETRY_ON_DATABASE_ERRORS)
def sync_source_task(source_id: str) -> dict[str, Any] | None:
    """Sync one source; exits quietly if it is gone or another worker claimed it."""

    try:
        report = run_queued_sync(source_id=source_id)
    except ReaderError:
        return {"status": "failed"}  # recorded on the source, visible on its page
    return None if report is None else {"status": "ok", **report.__dict__}


@shared_task(name="knowledge.reembed", **RETRY_ON_DATABASE_ERRORS)
def reembed_task() -> dict[str, Any] | None:
    """Re-embed the chunks whose vector is of another model; exits quietly if no job is queued."""

    embedded = run_queued_reembed()
    return None if embedded is None else {"status": "ok", "embedded": embedded}


@shared_task(name="knowledge.housekeeping")
def housekeeping() -> dict[str, int]:
    """Beat, every few minutes: queue scheduled syncs and expire old KB candidates in every client."""

    queued = expired = 0
    for client in Client.objects.exclude(schema_name="public").filter(is_active=True):
        with tenant_context(client):
            fail_stalled_syncs()
            for source in due_sources():
                queued += int(request_sync(source=source))
            expired += expire_candidates()
    return {"queued": queued, "expired": expired}
