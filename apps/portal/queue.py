"""The attention queue: what needs a person, across every client the user may reach, in one query.

Five kinds of item (apps/portal/snapshot.py reads them from each client's schema into one public table):

* ``approval``   — a tool call waiting for a human decision at the safety gate (``ToolAction`` awaiting approval);
* ``escalation`` — an open ticket whose latest investigation handed it to a person (needs a technician, needs L2,
  or failed);
* ``sla``        — an open ticket past its SLA due time;
* ``connector``  — an enabled connector that is down or reconnecting, or a help-desk source whose last polls failed;
* ``quarantine`` — a payload that could not become a ticket and is not resolved yet.

The items of every reachable client, joined with the marks (acknowledged, snoozed: ``AttentionMark``), filtered,
counted and paged in one query on indexed public tables: the queue costs the same whether it holds 3 items or
30,000, and whether the user reaches 3 clients or 100.
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
from apps.agent.models import VerdictChoice
from apps.connectors.models import Status as ConnectorStatus
from apps.core.across import table
from apps.portal import snapshot
from apps.portal.models import AttentionItem, AttentionMark, Kind
from tenants.models import Client

PAGE = 50  # the oldest first; the total says how many more the filters would show
TENANT_URLS = "gaby_site.urls_tenant"
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
    read_at: datetime | None = None  # when the items were last read from the clients' schemas

    @property
    def truncated(self) -> bool:
        return self.total > len(self.items)


def read(
    reach: Sequence[Reach],
    filters: Filters = Filters(),
    *,
    keys: Sequence[str] = (),
    now: datetime | None = None,
    limit: int = PAGE,
) -> Queue:
    """The queue of the clients in ``reach`` narrowed by ``filters`` (or exactly the items ``keys`` names), oldest
    first, at most ``limit`` items, with the total that matched: one query on the items as last read from the
    clients' schemas (apps/portal/snapshot.py; refreshed first when older than its limit)."""
    now = now or timezone.now()
    by_schema = {r.client.schema_name: r for r in reach if not filters.clients or r.client.slug in filters.clients}
    if not by_schema:
        return Queue()
    read_at = snapshot.ensure_fresh(now=now)
    kinds = list(filters.kinds or Kind.values)
    public = get_public_schema_name()
    conditions: list[str] = ["cl.schema_name = ANY(%s)", "items.kind = ANY(%s)"]
    condition_values: list[Any] = [sorted(by_schema), kinds]
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
        conditions.append("(cl.schema_name || '|' || items.kind || '|' || items.item_id) = ANY(%s)")
        condition_values.append(list(keys))
    sql = (
        f"SELECT cl.schema_name, items.kind, items.item_id, items.since, items.title, items.detail, items.target, "  # noqa: S608
        f"m.acknowledged_at, u.full_name, u.email, m.snoozed_until, count(*) OVER () "
        f"FROM {table(public, AttentionItem)} items JOIN {table(public, Client)} cl ON cl.id = items.client_id "
        f"LEFT JOIN {table(public, AttentionMark)} m ON m.client_id = cl.id AND m.kind = items.kind "
        f"AND m.item_id = items.item_id AND m.item_since = items.since "
        f"LEFT JOIN {table(public, User)} u ON u.id = m.acknowledged_by_id "
        f"WHERE {' AND '.join(conditions)} ORDER BY items.since, cl.schema_name, items.item_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*condition_values, limit])
        rows = cursor.fetchall()
    queue = Queue(total=int(rows[0][-1]) if rows else 0, read_at=read_at)
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
