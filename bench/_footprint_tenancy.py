"""The tenancy half of bench/footprint.py, run in its own process on a throw-away data directory.

1. PostgreSQL + Redis alone, fresh and empty: their resident memory is the services' floor.
2. ``N`` clients whose schemas exist but are empty, then ``gaby upgrade``'s migration step (tenants/
   schema_migrations.py: public, then every client schema through django-tenants' ``migrate_schemas``, in
   ``GABY_MIGRATION_PROCESSES`` processes at once; an empty schema is first copied from the template schema,
   tenants/schema_clone.py) timed on them. Beside it, two sets of ``--serial-schemas`` (20) other empty schemas
   migrated by Django: one by one in one process (the way before), and in the process pool; and the floor: the
   same tables made by PostgreSQL alone (``CREATE TABLE ... (LIKE ... INCLUDING ALL)`` from a migrated schema),
   i.e. the DDL without Django's migration machinery.
3. Tenant routing: requests through Django's whole middleware stack to a client's host (cycling over the ``N``
   clients), with the time spent in django-tenants' TenantMainMiddleware taken apart; floor: a trivial view with
   no middleware through the same test client.

Prints one JSON object on its last line. ``python bench/_footprint_tenancy.py --data-dir DIR --schemas N``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench import _procs


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok")


urlpatterns = [path("", trivial)]  # the floor's whole URLconf (ROOT_URLCONF=bench._footprint_tenancy)

ROUTING_SECONDS: list[float] = []


def timed_tenant_middleware() -> type:
    """django-tenants' own middleware, with the time it takes to resolve the host to a client recorded (defined
    once Django is set up: importing django-tenants reads the settings)."""
    from django_tenants.middleware.main import TenantMainMiddleware

    class TimedTenantMiddleware(TenantMainMiddleware):
        def process_request(self, request: HttpRequest) -> Any:
            started = time.perf_counter()
            try:
                return super().process_request(request)
            finally:
                ROUTING_SECONDS.append(time.perf_counter() - started)

    return TimedTenantMiddleware


def services_floor(data_dir: Path) -> dict[str, Any]:
    pg_pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    redis_pid = int((data_dir / "redis" / "redis.pid").read_text().split()[0])
    samples = [_procs.sample(pid, "postgres") for pid in [pg_pid, *_procs.descendants(pg_pid)]]
    samples.append(_procs.sample(redis_pid, "redis"))
    kept = [s for s in samples if s is not None]
    return {
        "rss_kb": sum(s.rss_kb for s in kept),
        "pss_kb": sum(s.pss_kb or 0 for s in kept),
        "processes": len(kept),
    }


def migrate_fresh_schemas(count: int, serial: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connections, transaction
    from psycopg import sql

    from tenants.addresses import client_domain
    from tenants.db_privileges import owner_alias
    from tenants.models import Client, Domain
    from tenants.schema_migrations import migrate_client_schema, migrate_every_schema, migrate_in_processes

    alias = owner_alias()
    with connections[alias].cursor() as cursor:  # no client row: only these comparisons migrate them
        for index in range(serial):
            for prefix in ("serial", "pool"):
                cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(f"{prefix}{index:03d}")))
    started = time.monotonic()
    for index in range(serial):
        migrate_client_schema(alias, f"serial {index}", f"serial{index:03d}")  # by Django: no template
    serial_s = time.monotonic() - started
    started = time.monotonic()
    pool = [(f"pool {index}", f"pool{index:03d}") for index in range(serial)]
    migrate_in_processes(alias, pool, settings.MIGRATION_PROCESSES, lambda _result: None)
    pool_s = time.monotonic() - started
    for index in range(count):
        slug = f"bench{index:03d}"
        client = Client(name=f"Bench client {index}", slug=slug, schema_name=slug)
        client.auto_create_schema = False  # the schema is made empty below; the upgrade path migrates it
        client.save()
        client.create_schema(sync_schema=False)
        with transaction.atomic():
            Domain.objects.create(domain=client_domain(slug), tenant=client, is_primary=True)
    started = time.monotonic()
    results = migrate_every_schema(lambda _result: None)
    migrate_s = time.monotonic() - started
    clients = [r for r in results if r.label.startswith("client ")]
    applied = sum(len(r.applied) for r in clients)
    copied = sum(1 for r in clients if r.cloned)
    started = time.monotonic()
    migrate_every_schema(lambda _result: None)  # a second `gaby upgrade`: nothing to apply
    rerun_s = time.monotonic() - started

    owner: Any = connections[alias]
    owner.set_schema_to_public()
    with owner.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", ["bench000"])
        tables = [row[0] for row in cursor.fetchall()]
        started = time.monotonic()
        for index in range(count):
            target = f"floor{index:03d}"
            cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(target)))
            for table in tables:
                cursor.execute(
                    sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(target, table), sql.Identifier("bench000", table)
                    )
                )
        floor_s = time.monotonic() - started
    return {
        "schemas": count,
        "migrations_per_schema": applied // max(1, count),
        "copied_from_template": copied,
        "tables_per_schema": len(tables),
        "migrate_s": migrate_s,
        "processes": settings.MIGRATION_PROCESSES,
        "serial_schemas": serial,
        "serial_s": serial_s,
        "pool_s": pool_s,
        "rerun_s": rerun_s,
        "floor_ddl_s": floor_s,
    }


def _timed_requests(hosts: list[str], requests: int) -> list[float]:
    from django.test import Client as TestClient

    client = TestClient()  # built inside the settings override: it loads the middleware it finds then
    seconds = []
    for index in range(requests):
        started = time.perf_counter()
        client.get("/", HTTP_HOST=hosts[index % len(hosts)])
        seconds.append(time.perf_counter() - started)
    return seconds


def routing(requests: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test import override_settings

    from tenants.models import Domain

    globals()["TimedTenantMiddleware"] = timed_tenant_middleware()
    hosts = list(Domain.objects.filter(domain__startswith="bench").values_list("domain", flat=True))
    stack = [
        f"{__name__}.TimedTenantMiddleware" if name.endswith("TenantMainMiddleware") else name
        for name in settings.MIDDLEWARE
    ]
    with override_settings(MIDDLEWARE=stack):
        _timed_requests(hosts, 20)  # warm-up: imports, connections, URLconfs
        ROUTING_SECONDS.clear()
        whole = _timed_requests(hosts, requests)
    with override_settings(MIDDLEWARE=[], ROOT_URLCONF=__name__):
        _timed_requests(hosts, 20)
        floor = _timed_requests(hosts, requests)

    def ms(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if q != 50 else statistics.median(values) * 1000

    return {
        "requests": requests,
        "hosts": len(hosts),
        "routing_p50_ms": ms(ROUTING_SECONDS, 50),
        "routing_p95_ms": ms(ROUTING_SECONDS, 95),
        "whole_p50_ms": ms(whole, 50),
        "whole_p95_ms": ms(whole, 95),
        "floor_p50_ms": ms(floor, 50),
        "floor_p95_ms": ms(floor, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--schemas", type=int, default=100)
    parser.add_argument("--serial-schemas", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL", "GABY_DB_OWNER_URL"):
        os.environ.pop(name, None)  # always a scratch database, never the caller's
    os.environ["GABY_DATA_DIR"] = str(args.data_dir)
    os.environ.setdefault("GABY_ENV", "development")
    os.environ["GABY_LOG_LEVEL"] = "warning"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gaby_site.settings"
    from gaby_site.embedded import Services

    services = Services(args.data_dir)
    try:
        services.up(app_role=True)
        result: dict[str, Any] = {"services_floor": services_floor(args.data_dir)}
        import django
        from django.core.management import call_command

        django.setup()
        from tenants.db_privileges import owner_alias

        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0, database=owner_alias())
        result["migrations"] = migrate_fresh_schemas(args.schemas, args.serial_schemas)
        result["routing"] = routing(args.requests)
        from django.db import connections

        connections.close_all()
    finally:
        services.down()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
