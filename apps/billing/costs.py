"""What the MSP's Costs page shows (MSP-10, OBS-5): spend by client and month, one client's month broken down by
workflow, connector and user, and each client's plan, caps, use of them this month and seats.

Spend per client and month is the monthly rollup (apps/llm/rollup.py, one query in the public schema); only the chosen
client's month is read from its call records (the ledger, apps/billing/usage.py) to break it down. Plans, seats and
clients are three more queries in the public schema: the page costs the same handful of queries for 3 clients or
100, and none of them sums every call. The page and its CSV cover the same months (``shown_months``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django_tenants.utils import get_public_schema_name

from apps.accounts.models import Membership
from apps.accounts.services import OPERATOR_ROLES
from apps.billing.plan_forms import ClientPlanForm
from apps.billing.usage import Totals, UsageRow, breakdown, ledger, user_labels
from apps.core.months import months_back, this_month
from apps.llm import rollup
from apps.llm.models import CALL_WORKFLOWS
from tenants.models import Client, ClientPlan
from tenants.plans import Limits, limits_of

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WORKFLOWS = dict(CALL_WORKFLOWS)
TOP_CLIENTS = 4  # the month chart's series: the costliest clients, the rest added up as "Other clients"
SPAN_CHOICES = (3, 6, 12)


class BadInput(ValueError):
    """A query parameter that cannot be read; the message says what to send instead."""


def parse_month(value: str, *, default: date) -> date:
    if not value:
        return default
    found = MONTH.match(value)
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise BadInput(f"month must look like 2026-11 (year-month), not {value[:20]!r}.")
    return date(int(found.group(1)), int(found.group(2)), 1)


def parse_span(value: str) -> int:
    if not value:
        return 6
    if value not in {str(n) for n in SPAN_CHOICES}:
        raise BadInput(f"months must be one of {', '.join(map(str, SPAN_CHOICES))}, not {value[:20]!r}.")
    return int(value)


def shown_months(month_param: str, span_param: str) -> tuple[list[date], date, int]:
    """The months the page shows (``span`` of them ending with this month, or with ``month`` when it is later)
    and the chosen one; the CSV reads the same, so a download covers what the page showed."""
    current = this_month()
    month = parse_month(month_param, default=current)
    span = parse_span(span_param)
    months = months_back(max(month, current), span)
    if month not in months:
        raise BadInput(f"month must be one of the {span} months shown ({months[0]:%Y-%m} to {months[-1]:%Y-%m}).")
    return months, month, span


def totals_of(found: rollup.MonthTotals) -> Totals:
    return Totals(found.calls, Decimal(found.tokens), found.cost_usd)


@dataclass
class ClientQuota:
    client: Client
    limits: Limits
    month: Totals
    seats_used: int
    form: ClientPlanForm
    saved: bool = False

    @property
    def used_percent(self) -> int | None:
        shares = []
        if self.limits.monthly_tokens:
            shares.append(float(self.month.tokens) / self.limits.monthly_tokens)
        if self.limits.monthly_usd:
            shares.append(float(self.month.cost_usd / self.limits.monthly_usd))
        return round(100 * max(shares)) if shares else None


@dataclass
class CostsPage:
    months: list[date]
    month: date
    span: int
    rows: list[UsageRow]
    clients: list[Client]
    per_client_month: dict[tuple[str, date], Totals]
    chosen: Client | None
    breakdowns: dict[str, list[tuple[str, Totals]]] = field(default_factory=dict)
    quotas: list[ClientQuota] = field(default_factory=list)

    @property
    def table(self) -> list[tuple[Client, list[Decimal | None]]]:
        """Each client's spend per shown month (None: no calls that month), for the table."""
        return [
            (c, [getattr(self.per_client_month.get((c.schema_name, m)), "cost_usd", None) for m in self.months])
            for c in self.clients
        ]


def plan_form(client: Client, assigned: ClientPlan | None, data: Any = None) -> ClientPlanForm:
    initial = {}
    if assigned is not None:
        initial = {
            "plan": assigned.plan_id,
            "monthly_tokens": assigned.monthly_tokens,
            "monthly_usd": assigned.monthly_usd,
            "seats": assigned.seats,
        }
    return ClientPlanForm(data, initial=initial, prefix_slug=client.slug)


def quota_of(client: Client, month_totals: Totals, *, data: Any = None, saved: bool = False) -> ClientQuota:
    """One client's quota card (the edit form's answer re-draws just this)."""
    assigned = ClientPlan.objects.select_related("plan").filter(client=client).first()
    seats = Membership.objects.filter(client=client, role__in=OPERATOR_ROLES).count()
    return ClientQuota(client, limits_of(assigned), month_totals, seats, plan_form(client, assigned, data), saved)


def month_totals(client: Client, month: date) -> Totals:
    return totals_of(rollup.month_usage(client.pk, month))


def page(*, month_param: str = "", span_param: str = "", client_param: str = "") -> CostsPage:
    months, month, span = shown_months(month_param, span_param)
    current = this_month()
    clients = list(Client.objects.exclude(schema_name=get_public_schema_name()).order_by("name"))
    by_id = {c.pk: c.schema_name for c in clients}
    found = rollup.usage_by_client(by_id, min(months[0], current), max(months[-1], current))
    per = {(by_id[client_id], m): totals_of(totals) for (client_id, m), totals in found.items()}
    chosen = next((c for c in clients if c.slug == client_param), None)
    if client_param and chosen is None:
        raise BadInput(f"No client has the slug {client_param[:40]!r}.")
    rows = ledger(month, month, schemas=[chosen.schema_name]) if chosen is not None else []
    shown = {key: totals for key, totals in per.items() if key[1] in months}
    result = CostsPage(months, month, span, rows, clients, shown, chosen)
    if chosen is not None:
        users = user_labels(rows)
        names: dict[str, Callable[[str], str]] = {
            "workflow": lambda key: str(WORKFLOWS.get(key, key)),
            "connector": lambda key: key or "No connector",
            "user": lambda key: users.get(key, key),
        }
        result.breakdowns = {
            by: [(name(key), totals) for key, totals in breakdown(rows, schema=chosen.schema_name, month=month, by=by)]
            for by, name in names.items()
        }
    assigned = {a.client_id: a for a in ClientPlan.objects.select_related("plan")}
    seats = dict(
        Membership.objects.filter(role__in=OPERATOR_ROLES)
        .values("client_id")
        .annotate(n=Count("id"))
        .values_list("client_id", "n")
    )
    result.quotas = [
        ClientQuota(
            client,
            limits_of(assigned.get(client.pk)),
            per.get((client.schema_name, current), Totals()),
            seats.get(client.pk, 0),
            plan_form(client, assigned.get(client.pk)),
        )
        for client in clients
    ]
    return result


def chart_series(result: CostsPage) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """Spend per month for the costliest clients over the span, and every other client added up."""
    spend: dict[str, Decimal] = {}
    for (schema, _), totals in result.per_client_month.items():
        spend[schema] = spend.get(schema, Decimal(0)) + totals.cost_usd
    names = {c.schema_name: c.name for c in result.clients}
    top = [s for s, _ in sorted(spend.items(), key=lambda item: -item[1])[:TOP_CLIENTS]]
    series = [
        (names.get(s, s), [float(result.per_client_month.get((s, m), Totals()).cost_usd) for m in result.months])
        for s in top
    ]
    others = [s for s in spend if s not in top]
    if others:
        values = [
            float(sum((result.per_client_month.get((s, m), Totals()).cost_usd for s in others), Decimal(0)))
            for m in result.months
        ]
        series.append((f"Other clients ({len(others)})", values))
    return [f"{m:%b %Y}" for m in result.months], series


def client_bars(result: CostsPage, *, limit: int = 12) -> tuple[list[str], list[float]]:
    """The chosen month's spend by client, the costliest ``limit``."""
    ranked = sorted(
        (
            (c.name, result.per_client_month.get((c.schema_name, result.month), Totals()).cost_usd)
            for c in result.clients
        ),
        key=lambda item: -item[1],
    )[:limit]
    return [name for name, _ in ranked], [float(usd) for _, usd in ranked]
