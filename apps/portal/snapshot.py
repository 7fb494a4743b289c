"""The attention queue's items, read from every client's schema into one public table (``AttentionItem``).

Five kinds of item, each read where it lives (the client's own schema):

* ``approval``   — a tool call waiting for a human decision at the safety gate (``ToolAction`` awaiting approval);
* ``escalation`` — an open ticket whose latest investigation handed it to a person (needs a technician, needs L2,
  or failed);
* ``sla``        — an open ticket past its SLA due time;
* ``connector``  — an enabled connector that is down or reconnecting, or a help-desk source whose last polls failed;
* ``quarantine`` — a payload that could not become a ticket and is not resolved yet.

Every kind of every client is one ``SELECT`` joined by ``UNION ALL`` into one ``INSERT … SELECT``: the rows never
leave the database. PostgreSQL spends most of that statement planning its ~600 branches at 100 clients (about half
a second), so it runs here, in beat every 15 s (``portal.refresh_attention``) and after a bulk action for the
clients acted on, not on each page view: the page reads one indexed table. A page that finds the items older than
``GABY_PORTAL_ATTENTION_STALE_S`` (beat not running) refreshes them itself first, so the queue is never older than
that. Schema names come from ``Client`` rows and are quoted as identifiers; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.connectors.models import Connector, ConnectorEvent, EventKind
from apps.connectors.models import Status as ConnectorStatus
from apps.core import across
from apps.core.across import table
from apps.portal.models import AttentionItem, Kind
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import QuarantinedPayload, Ticket, TicketSource
from apps.tickets.models import Status as TicketStatus
from tenants.models import Client

REFRESHED_KEY = "gaby:portal:attention-refreshed"
REFRESH_LOCK = 0x6761_6279_0001  # a PostgreSQL advisory lock key of this module's own
CLOSED = [TicketStatus.SOLVED, TicketStatus.CLOSED]
ESCALATED = [VerdictChoice.NEEDS_TECH, VerdictChoice.NEEDS_L2, VerdictChoice.FAILED]
FINISHED = [InvestigationStatus.DONE, InvestigationStatus.FAILED]
FAILING = [ConnectorStatus.DOWN, ConnectorStatus.DEGRADED]
# apps/connectors/services.check_health records a health event on every status change; the one it writes on
# recovery starts "Healthy". A failing connector is in its state since its latest failure event.
FAILURE_EVENTS = [EventKind.HEALTH, EventKind.CALL_ERROR, EventKind.AUTH_FAILURE]
RECOVERED = "Healthy%"
RESTARTED = "Server restarted%"  # a server restarted by the pool is an incident, not the connector failing


def _selects(schema: str, now: datetime) -> tuple[list[str], list[Any]]:
    """One SELECT per kind for ``schema``, each yielding (client, kind, item_id, since, title, detail, target)."""
    kinds = Kind.values
    parts: list[str] = []
    values: list[Any] = []
    action, connector, event = table(schema, ToolAction), table(schema, Connector), table(schema, ConnectorEvent)
    ticket, investigation = table(schema, Ticket), table(schema, Investigation)
    source, payload = table(schema, TicketSource), table(schema, QuarantinedPayload)
    # Only identifiers quoted by ``table`` and SQL written here are joined in; values are bound parameters.
    if Kind.APPROVAL in kinds:
        parts.append(
            f"SELECT %s, 'approval', a.id::text, a.created_at, c.name || ' · ' || a.tool_name, left(a.reason, 300), "  # noqa: S608
            f"a.id::text FROM {action} a JOIN {connector} c ON c.id = a.connector_id WHERE a.status = %s"
        )
        values += [schema, ActionStatus.AWAITING_APPROVAL]
    if Kind.ESCALATION in kinds:
        # The ticket's latest investigation decides: an escalation a later run resolved is no longer one.
        parts.append(
            f"SELECT %s, 'escalation', i.id::text, i.finished_at, t.title, "  # noqa: S608
            f"i.verdict || '|' || left(i.escalation_reason, 300), t.id::text "
            f"FROM {investigation} i JOIN {ticket} t ON t.id = i.ticket_id "
            f"WHERE i.verdict = ANY(%s) AND i.status = ANY(%s) AND t.deleted_at IS NULL AND NOT t.status = ANY(%s) "
            f"AND i.created_at = (SELECT max(l.created_at) FROM {investigation} l WHERE l.ticket_id = i.ticket_id)"
        )
        values += [schema, ESCALATED, FINISHED, CLOSED]
    if Kind.SLA in kinds:
        parts.append(
            f"SELECT %s, 'sla', t.id::text, t.sla_due_at, t.title, t.priority, t.id::text FROM {ticket} t "  # noqa: S608
            f"WHERE t.sla_due_at < %s AND t.deleted_at IS NULL AND NOT t.status = ANY(%s)"
        )
        values += [schema, now, CLOSED]
    if Kind.CONNECTOR in kinds:
        # In its present state since its last recorded change of health (check_health records one per change).
        changed = (
            f"(SELECT max(e.created_at) FROM {event} e WHERE e.connector_id = c.id AND e.kind = ANY(%s) "  # noqa: S608
            f"AND e.summary NOT LIKE %s AND e.summary NOT LIKE %s)"
        )
        parts.append(
            f"SELECT %s, 'connector', c.id::text, COALESCE({changed}, c.updated_at), c.name, "  # noqa: S608
            f"c.status || '|' || left(c.last_error, 300), c.id::text FROM {connector} c "
            f"WHERE c.enabled AND c.status = ANY(%s)"
        )
        values += [schema, FAILURE_EVENTS, RECOVERED, RESTARTED, FAILING]
        # A help-desk source is the connector tickets arrive by: failing polls are failing since its last good one.
        parts.append(
            f"SELECT %s, 'connector', 'source:' || s.id::text, COALESCE(s.last_sync_at, s.created_at), s.name, "  # noqa: S608
            f"'source|' || left(s.last_error, 300), s.id::text FROM {source} s "
            f"WHERE s.enabled AND s.consecutive_failures > 0"
        )
        values += [schema]
    if Kind.QUARANTINE in kinds:
        parts.append(
            f"SELECT %s, 'quarantine', q.id::text, q.received_at, s.name, left(q.error, 300), q.id::text "  # noqa: S608
            f"FROM {payload} q JOIN {source} s ON s.id = q.source_id WHERE NOT q.resolved"
        )
        values += [schema]
    return parts, values


def refresh(schemas: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    """Replace the items of ``schemas`` (every active client when None) with what their schemas hold now; return
    how many there are. One transaction: a page never sees a client's items half replaced."""
    now = now or timezone.now()
    everyone = schemas is None
    schemas = across.client_schemas() if schemas is None else sorted(set(schemas))
    selects: list[str] = []
    values: list[Any] = []
    for schema in schemas:
        more, more_values = _selects(schema, now)
        selects += more
        values += more_values
    items, clients = table("public", AttentionItem), table("public", Client)
    with transaction.atomic(), connection.cursor() as cursor:
        # One refresh at a time (beat, a stale page, a bulk action): the next one waits and replaces this one's rows.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        if everyone:  # clients switched off or removed since the last refresh leave the queue too
            cursor.execute(f"DELETE FROM {items}")  # noqa: S608
        else:
            cursor.execute(
                f"DELETE FROM {items} WHERE client_id IN (SELECT id FROM {clients} WHERE schema_name = ANY(%s))",  # noqa: S608
                [list(schemas)],
            )
        if not selects:
            return 0
        cursor.execute(
            f"INSERT INTO {items} (id, client_id, kind, item_id, since, title, detail, target) "  # noqa: S608
            f"SELECT gen_random_uuid(), cl.id, i.kind, i.item_id, coalesce(i.since, now()), coalesce(i.title, ''), "
            f"coalesce(i.detail, ''), i.target FROM ({' UNION ALL '.join(selects)}) "
            f"AS i (client, kind, item_id, since, title, detail, target) "
            f"JOIN {clients} cl ON cl.schema_name = i.client",
            values,
        )
        count = cursor.rowcount
    if everyone:
        cache.set(REFRESHED_KEY, now.timestamp(), timeout=None)
    return count


def refreshed_at() -> datetime | None:
    stamp = cache.get(REFRESHED_KEY)
    return datetime.fromtimestamp(stamp, tz=UTC) if stamp is not None else None


def stale_seconds() -> float:
    return float(settings.PORTAL_ATTENTION_STALE_SECONDS)


def ensure_fresh(*, now: datetime | None = None) -> datetime:
    """The time the items were read, refreshing them first when they are older than ``stale_seconds()``."""
    now = now or timezone.now()
    last = refreshed_at()
    if last is None or (now - last).total_seconds() > stale_seconds():
        refresh(now=now)
        return now
    return last


def invalidate() -> None:
    """The next page view reads every client's schema again (a test that just wrote items, an operator's doubt)."""
    cache.delete(REFRESHED_KEY)
