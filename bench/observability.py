"""Cost of observability: counting a figure, a /metrics scrape and the /status page, next to floors measured in
the same run.

* Counting (what every step, tool call and model call adds): one labelled counter increment in multiprocess mode
  (prometheus-client's memory-mapped file), beside the floor of incrementing a ``collections.Counter`` by the same
  label tuple in memory.
* A scrape (``/metrics`` exposition: every process's counters summed from the multiprocess directory, plus the
  levels read from PostgreSQL and Redis now), beside the floor of the same number of bare ``SELECT 1`` round trips.
  Beside it, the same scrape asking each client's schema in turn (what the one UNION ALL statement replaces).
* The /status page's figures (``apps/observability/status.page_context``), beside the same floor.

Queries per scrape and per status page are printed: they do not grow with the number of clients (one UNION ALL
statement per figure over every client schema).

    GABY_ENV=development .venv/bin/python bench/observability.py [--rounds 50] [--increments 100000] [--clients 40]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

# Before prometheus-client is imported: the counters go to memory-mapped files, as under ./gaby run.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gaby-bench-metrics-")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary


def timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--increments", type=int, default=100_000)
    parser.add_argument(
        "--clients", type=int, default=0, help="Onboard bench clients until there are this many (kept for next runs)."
    )
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from prometheus_client import generate_latest

    from apps.core import across
    from apps.observability import endpoint, metrics, status
    from tenants.demo import seed_demo
    from tenants.services import create_client

    seed_demo()
    for n in range(len(across.client_schemas()), args.clients):
        create_client(name=f"Bench client {n}", slug=f"bench{n:03d}")  # its schema, migrated, as onboarding does
    clients = len(across.client_schemas())

    floor_counter: collections.Counter[tuple[str, str, str]] = collections.Counter()
    started = time.perf_counter()
    for _ in range(args.increments):
        floor_counter[("hartwell", "auto_resolved", "llm")] += 1
    floor_ns = (time.perf_counter() - started) / args.increments * 1e9
    started = time.perf_counter()
    for _ in range(args.increments):
        metrics.INVESTIGATIONS.labels("hartwell", "auto_resolved", "llm").inc()
    counted_ns = (time.perf_counter() - started) / args.increments * 1e9

    def scrape() -> None:
        generate_latest(endpoint.registry())

    def select_one(times: int):  # type: ignore[no-untyped-def]
        def run() -> None:
            with connection.cursor() as cursor:
                for _ in range(times):
                    cursor.execute("SELECT 1")

        return run

    scrape()  # warm: connections, the broker's channel
    with CaptureQueriesContext(connection) as scrape_queries:
        scrape()
    status.page_context()
    with CaptureQueriesContext(connection) as status_queries:
        status.page_context()
    union = across.per_client

    def schema_by_schema(schemas, *rest, **options):  # type: ignore[no-untyped-def]
        return [row for schema in schemas for row in union([schema], *rest, **options)]

    def scrape_schema_by_schema() -> None:
        across.per_client = schema_by_schema
        try:
            scrape()
        finally:
            across.per_client = union

    scrape_ms = timed(scrape, args.rounds)
    looped_ms = timed(scrape_schema_by_schema, args.rounds)
    scrape_floor_ms = timed(select_one(len(scrape_queries)), args.rounds)
    status_ms = timed(status.page_context, args.rounds)
    status_floor_ms = timed(select_one(len(status_queries)), args.rounds)

    print(f"Observability cost, {clients} clients, {args.rounds} rounds")
    print(f"  one counter increment   {counted_ns:8.0f} ns   floor (in-memory Counter) {floor_ns:6.0f} ns")
    print(f"  /metrics scrape         {summary(scrape_ms)}   ({len(scrape_queries)} queries)")
    print(f"    floor: {len(scrape_queries)} x SELECT 1   {summary(scrape_floor_ms)}")
    print(f"    the same figures asked schema by schema   {summary(looped_ms)}")
    print(f"  /status figures         {summary(status_ms)}   ({len(status_queries)} queries)")
    print(f"    floor: {len(status_queries)} x SELECT 1   {summary(status_floor_ms)}")


if __name__ == "__main__":
    main()
