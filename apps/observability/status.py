"""What the MSP's ``/status`` page shows (OBS-4): per client, and for the install's workers and queues.

Per client: connector health, model latency (p50/p95 over the last hour, from the ``LLMCall`` records), the last
knowledge sync and the last ticket in, approvals waiting, and error rates over the last hour (failed investigations
of those finished, failed tool calls of those run). Each figure is one statement over every client's schema
(apps/core/across.py): the page costs the same handful of queries for 3 clients or 100.
For the install: Celery queue depth, each worker's heartbeat and beat's, from Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from apps.agent.models import Investigation, InvestigationStatus
from apps.connectors.models import Connector, Status
from apps.core import across
from apps.knowledge.models import KnowledgeSource, SyncStatus
from apps.llm.models import CallStatus, LLMCall
from apps.observability import heartbeat
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import Ticket
from tenants.models import Client

log = structlog.get_logger(__name__)
WINDOW = timedelta(hours=1)
STALE_WORKER_SECONDS = heartbeat.HEARTBEAT_SECONDS * 2
STALE_BEAT_SECONDS = 120.0


@dataclass
class Rate:
    failed: int = 0
    total: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.failed / self.total) if self.total else None


@dataclass
class ClientStatus:
    client: Client
    connectors: dict[str, int] = field(default_factory=dict)
    last_health_at: datetime | None = None
    llm_p50_ms: float | None = None
    llm_p95_ms: float | None = None
    llm_calls: int = 0
    llm_errors: int = 0
    last_sync_at: datetime | None = None
    failed_sources: int = 0
    last_ticket_at: datetime | None = None
    approvals_waiting: int = 0
    investigations: Rate = field(default_factory=Rate)
    tool_calls: Rate = field(default_factory=Rate)

    @property
    def connectors_down(self) -> int:
        return self.connectors.get(Status.DOWN, 0) + self.connectors.get(Status.DEGRADED, 0)

    @property
    def connectors_total(self) -> int:
        return sum(self.connectors.values())

    @property
    def needs_attention(self) -> bool:
        return bool(self.connectors_down or self.failed_sources or self.investigations.failed or self.tool_calls.failed)


@dataclass
class InstallStatus:
    queues: dict[str, int] | None
    workers: list[heartbeat.Beat] | None
    beat: heartbeat.Beat | None
    redis_error: str = ""

    @property
    def workers_alive(self) -> int:
        return sum(1 for worker in self.workers or [] if worker.age_seconds <= STALE_WORKER_SECONDS)

    @property
    def beat_fresh(self) -> bool:
        return self.beat is not None and self.beat.age_seconds <= STALE_BEAT_SECONDS


def install_status() -> InstallStatus:
    try:
        return InstallStatus(
            queues=heartbeat.queue_depths(), workers=heartbeat.worker_beats(), beat=heartbeat.beat_beat()
        )
    except Exception as exc:  # Redis away: the page says so instead of failing
        log.warning("status_redis_failed", exc_info=True)
        return InstallStatus(queues=None, workers=None, beat=None, redis_error=f"{type(exc).__name__}: {exc}")


def client_statuses(now: datetime | None = None) -> list[ClientStatus]:
    """One row per active client, by name."""
    since = (now or timezone.now()) - WINDOW
    clients = list(Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()).order_by("name"))
    rows = {client.schema_name: ClientStatus(client=client) for client in clients}
    schemas = sorted(rows)
    for schema, status, count, last in across.per_client(
        schemas, Connector, "status, count(*), max(last_health_at)", where="enabled", group_by="status"
    ):
        row = rows[schema]
        row.connectors[status] = int(count)
        row.last_health_at = max(filter(None, (row.last_health_at, last)), default=None)
    for schema, p50, p95, calls, errors in across.per_client(
        schemas,
        LLMCall,
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = %s), "
        "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = %s), "
        "count(*), count(*) FILTER (WHERE status <> %s)",
        where="created_at >= %s",
        params=[since],
        select_params=[CallStatus.OK, CallStatus.OK, CallStatus.OK],
    ):
        row = rows[schema]
        row.llm_p50_ms, row.llm_p95_ms = p50, p95
        row.llm_calls, row.llm_errors = int(calls), int(errors)
    for schema, last, failed in across.per_client(
        schemas,
        KnowledgeSource,
        "max(last_sync_at), count(*) FILTER (WHERE status = %s)",
        select_params=[SyncStatus.FAILED],
    ):
        rows[schema].last_sync_at, rows[schema].failed_sources = last, int(failed)
    for schema, last in across.per_client(schemas, Ticket, "max(created_at)"):
        rows[schema].last_ticket_at = last
    for schema, failed, total in across.per_client(
        schemas,
        Investigation,
        "count(*) FILTER (WHERE status = %s), count(*)",
        where="finished_at >= %s",
        params=[since],
        select_params=[InvestigationStatus.FAILED],
    ):
        rows[schema].investigations = Rate(int(failed), int(total))
    ran = [ActionStatus.DONE, ActionStatus.FAILED, ActionStatus.ROLLED_BACK]
    for schema, failed, total, waiting in across.per_client(
        schemas,
        ToolAction,
        "count(*) FILTER (WHERE created_at >= %s AND status = ANY(%s) AND (status = %s OR result_is_error)), "
        "count(*) FILTER (WHERE created_at >= %s AND status = ANY(%s)), count(*) FILTER (WHERE status = %s)",
        where="created_at >= %s OR status = %s",
        params=[since, ActionStatus.AWAITING_APPROVAL],
        select_params=[since, ran, ActionStatus.FAILED, since, ran, ActionStatus.AWAITING_APPROVAL],
    ):
        rows[schema].tool_calls = Rate(int(failed), int(total))
        rows[schema].approvals_waiting = int(waiting)
    return [rows[client.schema_name] for client in clients]


def page_context() -> dict[str, Any]:
    clients = client_statuses()
    return {
        "clients": clients,
        "install": install_status(),
        "window_minutes": int(WINDOW.total_seconds() // 60),
        "attention": sum(1 for row in clients if row.needs_attention),
        "checked_at": timezone.now(),
    }
