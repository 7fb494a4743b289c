"""The attention queue: what needs a person, across every client the user may reach, in one statement.

Five kinds of item, each read where it lives (the client's own schema):

* ``approval``   — a tool call waiting for a human decision at the safety gate (``ToolAction`` awaiting approval);
* ``escalation`` — an open ticket whose latest investigation handed it to a person (needs a technician, needs L2,
  or failed);
* ``sla``        — an open ticket past its SLA due time;
* ``connector``  — an enabled connector that is down or reconnecting, or a help-desk source whose last polls failed;
* ``quarantine`` — a payload that could not become a ticket and is not resolved yet.

Every kind of every reachable client is one ``SELECT`` joined by ``UNION ALL`` into one statement, which the public
schema's marks (acknowledged, snoozed: ``AttentionMark``) join, filter, count and page: the queue costs one query
whether it holds 3 items or 30,000, and whether the user reaches 3 clients or 100 (apps/core/across.py
does the same for the status page). Schema names come from ``Client`` rows and are quoted as identifiers; every
value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from apps.accounts.models import Membership, User
from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.connectors.models import Connector, ConnectorEvent, EventKind
from apps.connectors.models import Status as ConnectorStatus
from apps.core.across import table
from apps.portal.models import AttentionMark, Kind
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import QuarantinedPayload, Ticket, TicketSource
from apps.tickets.models import Status as TicketStatus
from tenants.models import Client

PAGE = 50  # the oldest first; the total says how many more the filters would show
TENANT_URLS = "gaby_site.urls_tenant"
CLOSED = [TicketStatus.SOLVED, TicketStatus.CLOSED]
ESCALATED = [VerdictChoice.NEEDS_TECH, VerdictChoice.NEEDS_L2, VerdictChoice.FAILED]
FINISHED = [InvestigationStatus.DONE, InvestigationStatus.FAILED]
FAILING = [ConnectorStatus.DOWN, ConnectorStatus.DEGRADED]
# apps/connectors/services.check_health records a health event on every status change; the one it writes on
# recovery starts "Healthy". A failing connector is in its state since its latest failure event.
FAILURE_EVENTS = [EventKind.HEALTH, EventKind.CALL_ERROR, EventKind.AUTH_FAILURE]
RECOVERED = "Healthy%"
RESTARTED = "Server restarted%"  # a server restarted by the pool is an incident, not the connector failing
AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
STATES = ("open", "acknowledged", "snoozed", "all")


@dataclass(frozen=True)
class Reach:
    """A client the user may see in the queue, and whether they may act on its items (Agent or Admin)."""

    client: Client
    can_act: bool


def reachable(user: Any) -> list[Reach]:
    """MSP staff see the clients they are members of (a membership is what opens a client, GOV-2); others none."""
    if not (getattr(user, "is_authenticated", False) and isinstance(user, User) and user.is_msp_staff):
        return []
    memberships = Membership.objects.filter(user=user, client__is_active=True).select_related("client")
    return [Reach(m.client, m.allows("agent")) for m in memberships.order_by("client__name")]


@dataclass(frozen=True)
class Filters:
    clients: tuple[str, ...] = ()  # slugs; empty: every reachable client
    kinds: tuple[str, ...] = ()  # Kind values; empty: every kind
    age: str = ""  # a key of AGES: only items older than that
    state: str = "open"  # open (neither acknowledged nor snoozed), acknowledged, snoozed, all

    @classmethod
    def parse(cls, data: Any) -> tuple[Filters, list[str]]:
        """From a query string; unknown values are dropped with a message that says which values exist."""
        errors = []
        kinds = tuple(k for k in data.getlist("kind") if k)
        if bad := [k for k in kinds if k not in Kind.values]:
            errors.append(f"Unknown kind {', '.join(bad)}: pick one of {', '.join(Kind.values)}.")
            kinds = tuple(k for k in kinds if k in Kind.values)
        age = data.get("age", "")
        if age and age not in AGES:
            errors.append(f"Unknown age {age!r}: pick one of {', '.join(AGES)}.")
            age = ""
        state = data.get("state", "") or "open"
        if state not in STATES:
            errors.append(f"Unknown state {state!r}: pick one of {', '.join(STATES)}.")
            state = "open"
        clients = tuple(c for c in data.getlist("client") if c)
        return cls(clients=clients, kinds=kinds, age=age, state=state), errors


@dataclass
class Item:
    client: Client
    kind: str
    item_id: str
    since: datetime
    title: str
    detail: str
    target: str
    can_act: bool
    acknowledged_by: str = ""
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    url: str = ""  # set by the view: the page of ``path`` in the client, through the sign-in hand-off if needed

    @property
    def key(self) -> str:
        """What a bulk action's checkbox carries: the client, the kind and the id (the server reads the rest)."""
        return f"{self.client.slug}|{self.kind}|{self.item_id}"

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)

    @property
    def path(self) -> str:
        """The page of the client where the item is worked, as a path of the client's site."""
        if self.kind == Kind.APPROVAL:
            return reverse("safety:approvals", urlconf=TENANT_URLS)
        if self.kind in (Kind.ESCALATION, Kind.SLA):
            return reverse("tickets:detail", args=[self.target], urlconf=TENANT_URLS)
        if self.kind == Kind.CONNECTOR and self.item_id.startswith("source:"):
            return reverse("tickets:sources", urlconf=TENANT_URLS)
        if self.kind == Kind.CONNECTOR:
            return reverse("connectors:detail", args=[self.target], urlconf=TENANT_URLS)
        return reverse("tickets:quarantine", urlconf=TENANT_URLS) + f"#quarantined-{self.target}"


@dataclass
class Queue:
    items: list[Item] = field(default_factory=list)
    total: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.items)


def _parts(schema: str, kinds: Sequence[str], now: datetime) -> tuple[list[str], list[Any]]:
    """One SELECT per kind for ``schema``, each yielding (client, kind, item_id, since, title, detail, target)."""
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


def read(
    reach: Sequence[Reach],
    filters: Filters = Filters(),
    *,
    keys: Sequence[str] = (),
    now: datetime | None = None,
    limit: int = PAGE,
) -> Queue:
    """The queue of the clients in ``reach`` narrowed by ``filters`` (or exactly the items ``keys`` names), oldest
    first, at most ``limit`` items, with the total that matched. One query."""
    now = now or timezone.now()
    by_schema = {r.client.schema_name: r for r in reach if not filters.clients or r.client.slug in filters.clients}
    kinds = filters.kinds or tuple(Kind.values)
    parts: list[str] = []
    values: list[Any] = []
    for schema in sorted(by_schema):
        more, more_values = _parts(schema, kinds, now)
        parts += more
        values += more_values
    if not parts:
        return Queue()
    public = get_public_schema_name()
    conditions: list[str] = ["TRUE"]
    condition_values: list[Any] = []
    if filters.age:
        conditions.append("items.since <= %s")
        condition_values.append(now - AGES[filters.age])
    hidden = "(m.acknowledged_at IS NOT NULL OR m.snoozed_until > %s)"
    if filters.state == "open":
        conditions.append(f"(m.id IS NULL OR NOT {hidden})")
        condition_values.append(now)
    elif filters.state == "acknowledged":
        conditions.append("m.acknowledged_at IS NOT NULL")
    elif filters.state == "snoozed":
        conditions.append("m.snoozed_until > %s")
        condition_values.append(now)
    if keys:
        conditions.append("(items.client || '|' || items.kind || '|' || items.item_id) = ANY(%s)")
        condition_values.append(list(keys))
    sql = (
        f"WITH items (client, kind, item_id, since, title, detail, target) AS ({' UNION ALL '.join(parts)}) "  # noqa: S608
        f"SELECT items.*, m.acknowledged_at, u.full_name, u.email, m.snoozed_until, count(*) OVER () "
        f"FROM items JOIN {table(public, Client)} cl ON cl.schema_name = items.client "
        f"LEFT JOIN {table(public, AttentionMark)} m ON m.client_id = cl.id AND m.kind = items.kind "
        f"AND m.item_id = items.item_id AND m.item_since = items.since "
        f"LEFT JOIN {table(public, User)} u ON u.id = m.acknowledged_by_id "
        f"WHERE {' AND '.join(conditions)} ORDER BY items.since, items.client, items.item_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *condition_values, limit])
        rows = cursor.fetchall()
    queue = Queue(total=int(rows[0][-1]) if rows else 0)
    for schema, kind, item_id, since, title, detail, target, acked_at, acked_name, acked_email, snoozed, _ in rows:
        row = by_schema[schema]
        queue.items.append(
            Item(
                client=row.client,
                kind=kind,
                item_id=item_id,
                since=since,
                title=title,
                detail=_describe(kind, detail or ""),
                target=target,
                can_act=row.can_act,
                acknowledged_by=(acked_name or acked_email or "") if acked_at else "",
                acknowledged_at=acked_at,
                snoozed_until=snoozed if snoozed and snoozed > now else None,
            )
        )
    return queue


def _describe(kind: str, detail: str) -> str:
    """The row's second line, in words: the verdict or the connector's state before the reason."""
    if kind == Kind.ESCALATION:
        verdict, _, reason = detail.partition("|")
        label = dict(VerdictChoice.choices).get(verdict, verdict)
        return f"{label}: {reason}" if reason else str(label)
    if kind == Kind.CONNECTOR:
        state, _, error = detail.partition("|")
        label = "Help-desk source failing" if state == "source" else dict(ConnectorStatus.choices).get(state, state)
        return f"{label}: {error}" if error else str(label)
    if kind == Kind.SLA:
        return f"Priority {detail}: past its SLA due time"
    return detail
