"""One card per client on the MSP portal: tickets, resolution rate, time saved and billed, model spend, and the last 30
days as sparklines.

The figures are four statements over every client's schema (``across.per_client``, a ``UNION ALL``): tickets and
investigations each in one statement grouped by day (the sparklines, with the month's counts alongside), billed
time, connectors; model spend is the monthly rollup's row per client (apps/llm/rollup.py, one query in the public
schema). The cards cost the same five queries for 3 clients or 100 (seven cross-schema statements before). Months
and days are UTC, the same for every client on one page (a client's own dashboard counts in its time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.safestring import SafeString

from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.billing.models import TimeRecord
from apps.connectors.models import Connector
from apps.connectors.models import Status as ConnectorStatus
from apps.core import across
from apps.core.months import start_of, this_month
from apps.insights.charts import sparkline
from apps.insights.metrics import MINUTES_PER_RESOLVED_TICKET
from apps.llm import rollup
from apps.tickets.models import Status, Ticket
from tenants.models import Client

DAYS = 30
CLOSED = [Status.SOLVED, Status.CLOSED]
FINISHED = [InvestigationStatus.DONE, InvestigationStatus.FAILED]


@dataclass
class Card:
    client: Client
    open_tickets: int = 0
    tickets_this_month: int = 0
    resolved_this_month: int = 0
    finished_this_month: int = 0
    billed_minutes: int = 0
    spend_usd: Decimal = Decimal(0)
    connectors: int = 0
    connectors_failing: int = 0
    tickets_per_day: list[int] = field(default_factory=list)
    resolved_per_day: list[int] = field(default_factory=list)

    @property
    def resolution_rate(self) -> int | None:
        """Percent of this month's finished investigations Gaby resolved on its own."""
        return round(100 * self.resolved_this_month / self.finished_this_month) if self.finished_this_month else None

    @property
    def hours_saved(self) -> float:
        """The dashboard's assumption (apps/insights/metrics.py): an agent's minutes per ticket Gaby resolved."""
        return self.resolved_this_month * MINUTES_PER_RESOLVED_TICKET / 60

    @property
    def hours_billed(self) -> float:
        return self.billed_minutes / 60

    @property
    def tickets_line(self) -> SafeString:
        return sparkline(self.tickets_per_day, label=f"Tickets in, {self.client.name}, last {DAYS} days")

    @property
    def resolved_line(self) -> SafeString:
        return sparkline(
            self.resolved_per_day, label=f"Resolved by Gaby, {self.client.name}, last {DAYS} days", colour=1
        )


def cards(clients: Sequence[Client], *, now: datetime | None = None) -> list[Card]:
    """A card for each of ``clients``, in their order."""
    now = now or timezone.now()
    this = this_month(now)
    month = start_of(this)
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]
    since_days = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    result = {client.schema_name: Card(client=client) for client in clients}
    schemas = sorted(result)
    # Tickets and investigations: one statement each, grouped by day over the sparkline's 30 days (older rows in
    # one NULL bucket), each row carrying the month's filtered counts too; the month's figures are the sums.
    ticket_day = "CASE WHEN created_at >= %s THEN (created_at AT TIME ZONE 'UTC')::date END"
    tickets_by_day: dict[str, dict[date, int]] = {}
    for schema, bucket, open_count, month_count, count in across.per_client(
        schemas,
        Ticket,
        f"{ticket_day}, count(*) FILTER (WHERE NOT status = ANY(%s)), count(*) FILTER (WHERE created_at >= %s), "
        "count(*)",
        where="deleted_at IS NULL",
        group_by="2",
        select_params=[since_days, CLOSED, month],
    ):
        card = result[schema]
        card.open_tickets += int(open_count)
        card.tickets_this_month += int(month_count)
        if bucket is not None:
            tickets_by_day.setdefault(schema, {})[bucket] = int(count)
    finished_day = "CASE WHEN finished_at >= %s THEN (finished_at AT TIME ZONE 'UTC')::date END"
    resolved_by_day: dict[str, dict[date, int]] = {}
    for schema, bucket, resolved, finished, resolved_that_day in across.per_client(
        schemas,
        Investigation,
        f"{finished_day}, count(*) FILTER (WHERE verdict = %s AND status = ANY(%s) AND finished_at >= %s), "
        "count(*) FILTER (WHERE status = ANY(%s) AND finished_at >= %s), count(*) FILTER (WHERE verdict = %s)",
        where="finished_at >= %s",
        group_by="2",
        select_params=[
            since_days,
            VerdictChoice.AUTO_RESOLVED,
            FINISHED,
            month,
            FINISHED,
            month,
            VerdictChoice.AUTO_RESOLVED,
        ],
        params=[min(month, since_days)],
    ):
        card = result[schema]
        card.resolved_this_month += int(resolved)
        card.finished_this_month += int(finished)
        if bucket is not None:
            resolved_by_day.setdefault(schema, {})[bucket] = int(resolved_that_day)
    for schema, minutes in across.per_client(
        schemas, TimeRecord, "coalesce(sum(billed_minutes), 0)", where="billable AND ended_at >= %s", params=[month]
    ):
        result[schema].billed_minutes = int(minutes)
    for schema, total, failing in across.per_client(
        schemas,
        Connector,
        "count(*), count(*) FILTER (WHERE status = ANY(%s))",
        where="enabled",
        select_params=[[ConnectorStatus.DOWN, ConnectorStatus.DEGRADED]],
    ):
        result[schema].connectors, result[schema].connectors_failing = int(total), int(failing)
    by_id = {client.pk: client.schema_name for client in clients}
    for (client_id, _), used in rollup.usage_by_client(by_id, this, this).items():
        result[by_id[client_id]].spend_usd = used.cost_usd
    for schema, card in result.items():
        card.tickets_per_day = [tickets_by_day.get(schema, {}).get(day, 0) for day in days]
        card.resolved_per_day = [resolved_by_day.get(schema, {}).get(day, 0) for day in days]
    return [result[client.schema_name] for client in clients]
