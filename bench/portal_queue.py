"""The MSP portal's attention queue at 100 clients: latency and query count, beside floors measured in the same run.

Onboards bench clients until there are ``--clients`` (each schema cloned from the migrated template,
tenants/schema_clone.py; kept for the next run), gives each ``--items`` attention items spread over the five kinds
(approvals waiting, escalations, SLA breaches, failing connectors, quarantined payloads), and a staff member who is
a member of every client. Then, ``--rounds`` times each:

* the queue (``apps.portal.queue.read``: one query on the items beat read from every client, joined with the
  marks, filtered, counted and paged at 50 items);
* the whole ``/attention/`` response (HTMX partial: queue + rendering + the session and middleware, through
  Django's test client);
* the portal home (queue + the client cards + the page);
* beat's refresh (``apps.portal.snapshot.refresh``: one ``INSERT … SELECT`` over a ``UNION ALL`` of every
  client's schema, every 15 s in the background), and the same refresh client by client;
* the floor: one bare ``SELECT 1`` round trip (the queue is one query).

    GABY_ENV=development .venv/bin/python bench/portal_queue.py [--clients 100] [--items 20] [--rounds 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary


def timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def seed_items(client, per_client: int) -> None:  # type: ignore[no-untyped-def]
    """``per_client`` items over the five kinds, once per client (a rerun finds them)."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
    from apps.connectors.models import Connector, Status, Transport
    from apps.safety.models import ActionStatus, ToolAction
    from apps.tickets import services
    from apps.tickets.models import Ticket

    with tenant_context(client):
        if Ticket.objects.filter(external_id__startswith="bench-").exists():
            return
        now = timezone.now()
        source = services.create_source(client=client, kind="webhook", name="Bench portal", config={})
        connector = Connector.objects.create(
            kind="mcp_stdio", name="Bench RMM", transport=Transport.STDIO, command="rmm", status=Status.DOWN
        )
        for n in range(per_client):
            kind = n % 5
            if kind == 0:
                ToolAction.objects.create(
                    idempotency_key=f"bench-{n}",
                    connector=connector,
                    tool_name="reset_password",
                    access="write",
                    actor_kind="agent",
                    outcome="approval",
                    reason="bench",
                    status=ActionStatus.AWAITING_APPROVAL,
                )
            elif kind in (1, 2):
                ticket = Ticket.objects.create(
                    source=source,
                    external_id=f"bench-{n}",
                    title=f"Bench ticket {n}",
                    sla_due_at=now - timedelta(hours=n) if kind == 2 else None,
                )
                if kind == 1:
                    Investigation.objects.create(
                        ticket=ticket,
                        status=InvestigationStatus.DONE,
                        verdict=VerdictChoice.NEEDS_L2,
                        finished_at=now - timedelta(minutes=n),
                    )
            elif kind == 3:
                Connector.objects.create(
                    kind="mcp_stdio", name=f"Bench down {n}", transport=Transport.STDIO, command="x", status=Status.DOWN
                )
            else:
                services.quarantine(source=source, raw=f"bad {n}", error="Invalid JSON")
        Ticket.objects.get_or_create(source=source, external_id="bench-marker", defaults={"title": "marker"})


class Counted:
    """Statements sent to PostgreSQL while inside (Django's execute wrapper: counted whatever DEBUG says)."""

    def __init__(self, connection) -> None:  # type: ignore[no-untyped-def]
        self.connection, self.statements = connection, 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.statements += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> Counted:
        self.wrapped = self.connection.execute_wrapper(self)
        self.wrapped.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wrapped.__exit__(*exc)

    def __len__(self) -> int:
        return self.statements


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--items", type=int, default=20, help="Attention items per client.")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client as HttpClient

    from apps.accounts.models import Membership, Role, User
    from apps.core import across
    from apps.portal import queue, snapshot
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()  # the portal's own domain
    started = time.perf_counter()
    for n in range(len(across.client_schemas()), args.clients):
        create_client(name=f"Bench client {n}", slug=f"bench{n:03d}")
    onboarded = time.perf_counter() - started
    clients = list(Client.objects.filter(is_active=True).exclude(schema_name="public"))
    for client in clients:
        seed_items(client, args.items)
    connection.set_schema_to_public()
    staff, _ = User.objects.get_or_create(email="bench-staff@bluemesa.example", defaults={"is_msp_staff": True})
    for client in clients:
        Membership.objects.get_or_create(user=staff, client=client, defaults={"role": Role.ADMIN})
    reach = queue.reachable(staff)
    http = HttpClient(HTTP_HOST=settings.BASE_DOMAIN)
    http.force_login(staff)

    def read() -> None:
        queue.read(reach)

    def refresh() -> None:
        snapshot.refresh()

    def per_schema() -> None:
        for one in reach:
            snapshot.refresh([one.client.schema_name])

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def partial() -> None:
        assert http.get("/attention/", HTTP_HX_REQUEST="true").status_code == 200

    def home() -> None:
        assert http.get("/").status_code == 200

    refresh()  # what beat does every 15 s
    read()
    partial()
    home()  # warm: connections, templates
    with Counted(connection) as queue_queries:
        found = queue.read(reach)
    with Counted(connection) as partial_queries:
        partial()
    with Counted(connection) as home_queries:
        home()
    queue_ms = timed(read, args.rounds)
    partial_ms = timed(partial, args.rounds)
    home_ms = timed(home, args.rounds)
    floor_ms = timed(select_one, args.rounds)
    refresh_ms = timed(refresh, max(args.rounds // 5, 3))
    looped_ms = timed(per_schema, max(args.rounds // 5, 3))

    print(
        f"Portal attention queue: {len(reach)} clients, {found.total} items ({args.items} per client), "
        f"{args.rounds} rounds (bench clients onboarded in {onboarded:.1f} s this run)"
    )
    print(f"  queue.read (one query, 50 shown)        {summary(queue_ms)}   ({len(queue_queries)} queries)")
    print(f"  GET /attention/ (HTMX partial)          {summary(partial_ms)}   ({len(partial_queries)} queries)")
    print(f"  GET / (queue + client cards + page)     {summary(home_ms)}   ({len(home_queries)} queries)")
    print(f"  floor: SELECT 1                         {summary(floor_ms)}")
    print(f"  beat's refresh (one INSERT ... SELECT)  {summary(refresh_ms)}")
    print(f"  same refresh, schema by schema          {summary(looped_ms)}   ({len(reach)} statements)")


if __name__ == "__main__":
    main()
