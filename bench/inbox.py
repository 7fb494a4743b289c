"""The unified inbox at 10,000 tickets x 5 messages in one client: server time and query count.

Seeds (once) a client ``inboxbench`` with 10,000 tickets of two sources, 5 messages each, then times
requests in-process through the whole Django stack (tenant middleware, session, membership gate,
selectors, templates) with the test client, counting SQL queries. Floor: the raw SQL SELECT of one
inbox page (51 rows, the same ORDER BY and index) on the same database in the same run.

    GABY_ENV=development .venv/bin/python bench/inbox.py [--requests 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary

TICKETS, MESSAGES_PER_TICKET = 10_000, 5
WORDS = "printer vpn outlook password invoice laptop wifi backup drive scanner license phone".split()  # noqa: SIM905


def _seed(client: object) -> None:
    from django_tenants.utils import tenant_context

    from apps.tickets import services
    from apps.tickets.models import Contact, Message, Ticket

    with tenant_context(client):
        if Ticket.objects.count() >= TICKETS:
            return
        print(f"seeding {TICKETS} tickets x {MESSAGES_PER_TICKET} messages (once)...", flush=True)
        rng = random.Random(7)
        sources = [
            services.create_source(client=client, kind="email", name="Support mailbox", config={}),  # type: ignore[arg-type]
            services.create_source(client=client, kind="webhook", name="CRM", config={"secret": "x"}),  # type: ignore[arg-type]
        ]
        contacts = Contact.objects.bulk_create(
            [Contact(email=f"user{i}@client{i % 40}.example", name=f"User {i}") for i in range(500)]
        )
        now = datetime.now(UTC)
        for start in range(0, TICKETS, 1000):
            tickets = []
            for i in range(start, start + 1000):
                a, b = rng.sample(WORDS, 2)
                tickets.append(
                    Ticket(
                        source=sources[i % 2],
                        external_id=f"B-{i}",
                        title=f"{a.title()} problem #{i} with the {b}",
                        body=f"The {a} stopped working after the {b} update. " * 3,
                        contact=contacts[i % 500],
                        priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
                        status=rng.choice(["new", "open", "open", "pending", "solved", "closed"]),
                        sla_due_at=now + timedelta(minutes=rng.randint(-600, 6000)),
                        tags=[a],
                    )
                )
            Ticket.objects.bulk_create(tickets)
            Message.objects.bulk_create(
                Message(
                    ticket=t,
                    direction="inbound" if n % 2 == 0 else "outbound",
                    author_label="Customer" if n % 2 == 0 else "Agent",
                    body=f"Message {n} about {t.title}.",
                    external_id=f"{t.external_id}-{n}",
                )
                for t in tickets
                for n in range(MESSAGES_PER_TICKET)
            )


def _time(browser: object, path: str, n: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples, queries = [], 0
    for i in range(n + 10):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = browser.get(path)  # type: ignore[attr-defined]
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        if i >= 10:  # warm-up excluded
            samples.append(elapsed)
            queries = len(captured)
    return samples, queries


def _floor(client: object, n: int) -> list[float]:
    from django.db import connection
    from django_tenants.utils import tenant_context

    sql = (
        "SELECT t.id, t.title, t.status, t.priority, t.sla_due_at, t.assignee_id, t.tags, t.updated_at, "
        "s.name, s.kind, c.name, c.email FROM tickets_ticket t JOIN tickets_ticketsource s ON s.id = t.source_id "
        "LEFT JOIN tickets_contact c ON c.id = t.contact_id WHERE t.deleted_at IS NULL "
        "ORDER BY t.updated_at DESC, t.id DESC LIMIT 51"
    )
    samples = []
    with tenant_context(client), connection.cursor() as cursor:
        for i in range(n + 10):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            if i >= 10:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    from django.test import Client as Browser
    from django_tenants.utils import tenant_context

    from apps.accounts.models import Membership, Role, User
    from apps.tickets.models import Ticket
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    client = Client.objects.filter(slug="inboxbench").first() or create_client(name="Inbox Bench", slug="inboxbench")
    _seed(client)
    user = User.objects.filter(email="bench@inboxbench.example").first() or User.objects.create_user(
        "bench@inboxbench.example", None, full_name="Bench"
    )
    Membership.objects.get_or_create(user=user, client=client, defaults={"role": Role.AGENT})
    with tenant_context(client):
        count = Ticket.objects.count()
        detail_id = Ticket.objects.order_by("-updated_at").values_list("pk", flat=True)[500]
    browser = Browser(HTTP_HOST="inboxbench.localhost")
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    from apps.tickets.inbox import InboxFilters, inbox_page

    with tenant_context(client):
        deep_cursor = ""
        for _ in range(41):  # walk 41 pages back to time a deep keyset page
            deep_cursor = inbox_page(InboxFilters(status=""), user_id=user.pk, after=deep_cursor).next_cursor

    print(f"{count} tickets x {MESSAGES_PER_TICKET} messages in one client; {args.requests} in-process requests each")
    floor = _floor(client, args.requests)
    floor_median = sorted(floor)[len(floor) // 2]
    print(f"  {'floor: raw SQL SELECT of one page (51 rows)':<48} {summary(floor)}  queries  1")
    cases = [
        ("inbox list (active tickets, page 1)", "/inbox/"),
        ("inbox page 42 (keyset, all statuses)", f"/inbox/?status=&after={deep_cursor}"),
        ("filtered search (q=printer, priority=high)", "/inbox/?q=printer&priority=high&status="),
        ("ticket detail (5 messages)", f"/inbox/t/{detail_id}/"),
    ]
    for label, path in cases:
        samples, queries = _time(browser, path, args.requests)
        median = sorted(samples)[len(samples) // 2]
        print(f"  {label:<48} {summary(samples)}  queries {queries:2d}  ({median / floor_median:5.1f}x floor)")


if __name__ == "__main__":
    main()
