"""Cost of the usage ledger and of the quota check, next to floors measured in the same run.

* The ledger (``apps/billing/usage.ledger``): every client's model calls of the last 12 months, grouped per client,
  month, workflow, user and connector, in one ``UNION ALL`` statement over ``--clients`` client schemas holding
  ``--calls`` calls each. Floor: the same rows only counted and summed (``count(*), sum(cost_usd)`` per schema,
  one ``UNION ALL`` statement too), i.e. reading them without grouping or attributing. Beside it, the same ledger
  asked schema by schema (one statement per client), what the single statement replaces. The bench's calls have
  no investigation steps: the connector join runs over empty step tables, so the figure is the grouping's cost.
* Spend per client and month for 12 months, what the costs page and the portal's cards show: from the monthly
  rollup (``apps/llm/rollup.usage_by_client``, one query in the public schema) beside the same totals summed from
  the ledger, which is how the page got them before the rollup.
* The quota check the gateway makes before every model call (``apps/llm/quota.Quota.check``) for a capped client
  (one indexed read of the month's rollup row) and for an uncapped one; floor: one bare ``SELECT 1`` round trip.

Clients and calls are kept for the next run (bench clients are named ``bench###``; their calls are marked
``requested_by='bench'`` and only added up to ``--calls``); their rollup rows are rebuilt from the calls
(``rollup.rebuild``), as the migration that created the table does.

    GABY_ENV=development .venv/bin/python bench/costs_ledger.py [--clients 100] [--calls 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary

WORKFLOWS = ("classify", "plan", "verdict", "reply", "embed")


def timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def fill(schema: str, calls: int) -> None:
    """Up to ``calls`` bench calls in ``schema``, spread over 12 months, 5 workflows and 20 requesters."""
    from django.db import connection

    from apps.core.across import table as _table
    from apps.llm.models import LLMCall

    table = _table(schema, LLMCall)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE requested_by LIKE 'bench%%'")
        missing = calls - int(cursor.fetchone()[0])
        if missing <= 0:
            return
        cursor.execute(
            f"""INSERT INTO {table} (id, budget_key, requested_by, workflow, provider_kind, provider_name, model,
                prompt_name, prompt_version, prompt_hash, request_messages, response_text, tool_calls, input_tokens,
                output_tokens, cost_usd, latency_ms, streamed, cached, status, error, attempt, created_at)
            SELECT gen_random_uuid(), 'bench-' || (n %% 200), 'bench:' || (n %% 20), (%s::text[])[1 + n %% 5],
                'openai', 'OpenAI', 'gpt-4o-mini', 'reply', 1, '', '[]', '', '[]', 500 + n %% 700, 50 + n %% 90,
                0.0001 * (1 + n %% 37), 800, false, false, 'ok', '', 1, now() - (n %% 360) * interval '1 day'
            FROM generate_series(1, %s) AS n""",
            [list(WORKFLOWS), missing],
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--calls", type=int, default=1000, help="Model calls per client.")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from apps.billing.usage import by_client_and_month, client_schemas, ledger
    from apps.core.across import table as _table
    from apps.llm import rollup
    from apps.llm.models import LLMCall
    from apps.llm.quota import Quota
    from tenants.models import Client, ClientPlan, Plan
    from tenants.services import create_client

    for n in range(len(client_schemas()), args.clients):
        create_client(name=f"Bench client {n}", slug=f"bench{n:03d}")  # its schema, migrated, as onboarding does
    schemas = client_schemas()[: args.clients]
    for schema in schemas:
        fill(schema, args.calls)
    today = timezone.now().date()
    first = date(today.year - 1, today.month, 1)
    clients = list(Client.objects.filter(schema_name__in=schemas))
    rollup.rebuild(clients, first, today)
    ids = [c.pk for c in clients]

    def totals_from_rollup() -> None:
        rollup.usage_by_client(ids, first, today)

    def totals_from_ledger() -> None:
        by_client_and_month(ledger(first, today, schemas=schemas))

    def run_ledger() -> None:
        ledger(first, today, schemas=schemas)

    def schema_by_schema() -> None:
        for schema in schemas:
            ledger(first, today, schemas=[schema])

    floor_sql = " UNION ALL ".join(
        f"SELECT %s, count(*), sum(cost_usd) FROM {_table(s, LLMCall)} WHERE created_at >= %s" for s in schemas
    )
    floor_params = [value for s in schemas for value in (s, first)]

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(floor_sql, floor_params)
            cursor.fetchall()

    run_ledger()  # warm: connection, plans, caches
    floor()
    with CaptureQueriesContext(connection) as queries:
        rows = ledger(first, today, schemas=schemas)
    ledger_ms = timed(run_ledger, args.rounds)
    floor_ms = timed(floor, args.rounds)
    looped_ms = timed(schema_by_schema, max(3, args.rounds // 4))
    rollup_ms = timed(totals_from_rollup, args.rounds)
    summed_ms = timed(totals_from_ledger, max(3, args.rounds // 4))
    assert len(rollup.usage_by_client(ids, first, today)) == len(by_client_and_month(rows))  # the same months
    statements = len([q for q in queries.captured_queries if not q["sql"].startswith("SET")])

    # The quota check, capped and uncapped, on the first two bench clients.
    capped, uncapped = Client.objects.get(schema_name=schemas[0]), Client.objects.get(schema_name=schemas[1])
    plan, _ = Plan.objects.get_or_create(name="Bench cap", defaults={"monthly_tokens": 10**12, "monthly_usd": 10**6})
    ClientPlan.objects.update_or_create(client=capped, defaults={"plan": plan})
    ClientPlan.objects.filter(client=uncapped).delete()
    checks = 2000
    results = {}
    for label, client in (("capped", capped), ("uncapped", uncapped)):
        with tenant_context(client):
            gate = Quota(client)
            gate.check()  # reads the plan (and the tally) once
            started = time.perf_counter()
            for _ in range(checks):
                gate.check()
            results[label] = (time.perf_counter() - started) / checks * 1e6
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for _ in range(checks):
            cursor.execute("SELECT 1")
            cursor.fetchone()
    floor_us = (time.perf_counter() - started) / checks * 1e6
    ClientPlan.objects.filter(client=capped).delete()

    total_calls = len(schemas) * args.calls
    print(f"Costs ledger, {len(schemas)} clients x {args.calls} calls ({total_calls:,} calls), {args.rounds} rounds")
    print(f"  ledger, 12 months         {summary(ledger_ms)}   ({statements} statement, {len(rows):,} grouped rows)")
    print(f"    floor: count+sum, one statement   {summary(floor_ms)}")
    print(f"    the same ledger schema by schema  {summary(looped_ms)}   ({len(schemas)} statements)")
    print(f"  spend per client and month, 12 months, from the rollup   {summary(rollup_ms)}")
    print(f"    the same totals summed from the ledger                {summary(summed_ms)}")
    print(f"  quota check per model call: capped {results['capped']:6.1f} us   uncapped {results['uncapped']:6.2f} us")
    print(f"    floor: one SELECT 1 round trip    {floor_us:6.1f} us")


if __name__ == "__main__":
    main()
