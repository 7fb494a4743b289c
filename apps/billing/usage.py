"""The usage and cost ledger across clients (MSP-10, OBS-5): model tokens and dollars per client, month, user,
connector and workflow, read from the calls the LLM gateway records (``LLMCall``, one table per client schema).

How each call is attributed:

- **client**: the schema the call is recorded in;
- **month**: the calendar month (UTC) of ``created_at``;
- **workflow**: the call's (classify, plan, verdict, reply, and ``embed`` for knowledge-base embedding batches);
- **user**: who the call was made for, as the gateway recorded it (``LLMCall.requested_by``): the operator who
  started the investigation, else the ticket's requester; chat answers count as "Chat visitors", embedding batches
  as "Knowledge base", and calls recorded before the column existed as "Not recorded";
- **connector**: a model call that asked for tool calls is the cost of the connectors it called. Its tokens and
  dollars are split across the connectors of the investigation steps linked to it
  (``InvestigationStep.llm_call`` with a tool action), in proportion to the number of those steps: a plan call
  that asked for two NinjaOne lookups and one Microsoft 365 lookup counts 2/3 to NinjaOne and 1/3 to Microsoft
  365. Every other call (classification, verdict, reply, a plan call that called nothing, embeddings) is "No
  connector": it is not spread over connectors it never asked for. Split rows keep the whole call count, so
  ``calls`` can add up to more than the calls made; tokens and dollars add up exactly.

One statement reads every client: a ``UNION ALL`` of the same aggregate over each client's schema (schema names come
from the ``Client`` rows and are quoted as identifiers; dates are bound parameters). The database returns rows
already grouped per client, month, workflow, user and connector, so the work in Python grows with the number of
distinct groups, not with the number of calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection

from apps.accounts.models import User
from apps.agent.models import InvestigationStep
from apps.core import across, months
from apps.llm.models import LLMCall

NO_CONNECTOR = ""
CHAT = "chat"
KNOWLEDGE = "knowledge"
SPECIAL_USERS = {"": "Not recorded", CHAT: "Chat visitors", KNOWLEDGE: "Knowledge base"}


@dataclass(frozen=True)
class UsageRow:
    schema: str
    month: date
    workflow: str
    user: str  # the recorded key: "user:<id>", "contact:<email>", or one of SPECIAL_USERS
    connector: str  # NO_CONNECTOR for calls that asked for no tool
    calls: int
    tokens: Decimal  # apportioned: a split call's tokens are shared between its connectors' rows
    cost_usd: Decimal


def client_schemas() -> list[str]:
    """Every client's schema, active or not: a client switched off still cost what it cost."""
    return across.client_schemas(active_only=False)


def _select(schema: str) -> str:
    calls, steps = across.table(schema, LLMCall), across.table(schema, InvestigationStep)
    # Written here, never from input: only the quoted identifiers above vary; every value is a bound parameter.
    return f"""
SELECT %s, (date_trunc('month', c.created_at AT TIME ZONE 'UTC'))::date, c.workflow,
       CASE WHEN c.requested_by <> '' THEN c.requested_by
            WHEN c.budget_key LIKE 'chat:%%' THEN '{CHAT}'
            WHEN c.workflow = 'embed' THEN '{KNOWLEDGE}'
            ELSE '' END,
       COALESCE(s.connector, ''), count(*),
       sum((c.input_tokens + c.output_tokens) * COALESCE(s.share, 1)), sum(c.cost_usd * COALESCE(s.share, 1))
FROM {calls} c
LEFT JOIN (
    SELECT st.llm_call_id, st.system AS connector,
           count(*)::numeric / sum(count(*)) OVER (PARTITION BY st.llm_call_id) AS share
    FROM {steps} st
    WHERE st.action_id IS NOT NULL AND st.llm_call_id IS NOT NULL AND st.created_at >= %s
    GROUP BY st.llm_call_id, st.system
) s ON s.llm_call_id = c.id
WHERE c.created_at >= %s AND c.created_at < %s
GROUP BY 2, 3, 4, 5"""  # noqa: S608


def ledger(first: date, last: date, *, schemas: Sequence[str] | None = None) -> list[UsageRow]:
    """Every client's usage from ``first``'s month to ``last``'s, inclusive, in one statement."""
    schemas = client_schemas() if schemas is None else list(schemas)
    if not schemas:
        return []
    start, end = months.bounds(first, last)
    parts: list[str] = []
    values: list[str | datetime] = []
    for schema in schemas:
        parts.append(_select(schema))
        values.extend([schema, start, start, end])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        rows = cursor.fetchall()
    return [
        UsageRow(schema, month, workflow, user, connector, int(calls), Decimal(tokens or 0), Decimal(usd or 0))
        for schema, month, workflow, user, connector, calls, tokens, usd in rows
    ]


def user_labels(rows: Iterable[UsageRow]) -> dict[str, str]:
    """A readable name for every user key in ``rows``: operators' emails (one query in the public schema)."""
    keys = {row.user for row in rows}
    ids = []
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "user":
            try:
                ids.append(UUID(value))
            except ValueError:
                continue
    emails = {str(pk): email for pk, email in User.objects.filter(pk__in=ids).values_list("pk", "email")}
    labels = {}
    for key in keys:
        kind, _, value = key.partition(":")
        if key in SPECIAL_USERS:
            labels[key] = SPECIAL_USERS[key]
        elif kind == "user":
            labels[key] = f"{emails.get(value, 'a removed user')} (operator)"
        elif kind == "contact":
            labels[key] = f"{value} (requester)"
        else:
            labels[key] = key
    return labels


@dataclass
class Totals:
    calls: int = 0
    tokens: Decimal = Decimal(0)
    cost_usd: Decimal = Decimal(0)

    def add(self, row: UsageRow) -> None:
        self.calls += row.calls
        self.tokens += row.tokens
        self.cost_usd += row.cost_usd


def by_client_and_month(rows: Iterable[UsageRow]) -> dict[tuple[str, date], Totals]:
    totals: dict[tuple[str, date], Totals] = defaultdict(Totals)
    for row in rows:
        totals[(row.schema, row.month)].add(row)
    return dict(totals)


def breakdown(rows: Iterable[UsageRow], *, schema: str, month: date, by: str) -> list[tuple[str, Totals]]:
    """One client's month by ``by`` ("workflow", "connector" or "user"), the costliest first."""
    totals: dict[str, Totals] = defaultdict(Totals)
    for row in rows:
        if row.schema == schema and row.month == month:
            totals[getattr(row, by)].add(row)
    return sorted(totals.items(), key=lambda item: (-item[1].cost_usd, -item[1].tokens, item[0]))
