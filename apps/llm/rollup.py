"""The monthly usage rollup: each client's calls, tokens and dollars per month (``tenants.MonthlyUsage``), one row
per client and month in the public schema.

Chosen over a rollup refreshed by beat: written as each call is recorded, in the same transaction as its
``LLMCall`` (``record``), it never lags the records — the quota's hard stop needs the month's spend now, not as of
the last refresh — and a rolled-back call leaves no trace in either. One ``INSERT ... ON CONFLICT DO UPDATE`` adds
to the row; model calls are never made inside a long transaction, so the row's lock is held for milliseconds.
``rebuild`` recomputes months from the records (the migration that created the table runs it for the months
before it; ``gaby usage-rollup --rebuild`` after restoring a backup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.core import across, months
from apps.llm.models import LLMCall
from tenants.models import Client, MonthlyUsage


@dataclass(frozen=True)
class MonthTotals:
    calls: int = 0
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)


NOTHING = MonthTotals()


def _table() -> str:
    quote = connection.ops.quote_name
    return f"{quote(get_public_schema_name())}.{quote(MonthlyUsage._meta.db_table)}"


def record(client_id: UUID, month: date, *, tokens: int, cost_usd: Decimal, calls: int = 1) -> None:
    """Add one recorded call (or ``calls``) to the client's month; call it in the transaction that records it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {_table()} (id, client_id, month, calls, tokens, cost_usd, updated_at)
                VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, now())
                ON CONFLICT (client_id, month) DO UPDATE SET calls = {_table()}.calls + EXCLUDED.calls,
                    tokens = {_table()}.tokens + EXCLUDED.tokens, cost_usd = {_table()}.cost_usd + EXCLUDED.cost_usd,
                    updated_at = now()""",  # noqa: S608 - the table name is the model's, quoted
            [client_id, month, calls, int(tokens), cost_usd],
        )


def month_usage(client_id: UUID, month: date) -> MonthTotals:
    """One client's month: one indexed row, read with a plain statement (the quota asks before every model call)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT calls, tokens, cost_usd FROM {_table()} WHERE client_id = %s AND month = %s",  # noqa: S608
            [client_id, month],
        )
        row = cursor.fetchone()
    return MonthTotals(int(row[0]), int(row[1]), Decimal(row[2])) if row else NOTHING


def usage_by_client(client_ids: Iterable[UUID], first: date, last: date) -> dict[tuple[UUID, date], MonthTotals]:
    """Every listed client's months from ``first`` to ``last`` (one query in the public schema)."""
    rows = MonthlyUsage.objects.filter(client_id__in=list(client_ids), month__gte=first, month__lte=last)
    fields = ("client_id", "month", "calls", "tokens", "cost_usd")
    return {
        (client_id, month): MonthTotals(int(calls), int(tokens), Decimal(usd))
        for client_id, month, calls, tokens, usd in rows.values_list(*fields)
    }


def rebuild(clients: Sequence[Client], first: date, last: date) -> int:
    """Recompute the listed clients' months from their call records (one statement reads every schema); the
    number of rows written. A month with no calls left is removed."""
    start, end = months.bounds(first, last)
    by_schema = {client.schema_name: client for client in clients}
    rows = across.per_client(
        sorted(by_schema),
        LLMCall,
        "(date_trunc('month', created_at AT TIME ZONE 'UTC'))::date, count(*), "
        "coalesce(sum(input_tokens + output_tokens), 0), coalesce(sum(cost_usd), 0)",
        where="created_at >= %s AND created_at < %s",
        group_by="2",
        params=[start, end],
    )
    MonthlyUsage.objects.filter(client__in=clients, month__gte=first, month__lte=last).delete()
    MonthlyUsage.objects.bulk_create(
        MonthlyUsage(client=by_schema[schema], month=month, calls=calls, tokens=tokens, cost_usd=usd)
        for schema, month, calls, tokens, usd in rows
    )
    return len(rows)
