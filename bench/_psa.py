"""What the PSA benches share (bench/halopsa.py, bench/connectwise.py): fresh clients, timed polls, lost answers.

Each bench maps its stand-in's companies to Gaby clients in one step, then calls these with the sources made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def fresh_clients(prefix: str, name: str, count: int, kind: str) -> list[Any]:
    """``count`` Gaby clients (created once, reused by later runs) with no source of ``kind`` left from a run."""
    from django_tenants.utils import tenant_context

    from apps.tickets.models import Message, Ticket, TicketSource
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    clients = []
    for c in range(count):
        slug = f"{prefix}{c}"
        clients.append(Client.objects.filter(slug=slug).first() or create_client(name=f"{name} {c}", slug=slug))
    for client in clients:
        with tenant_context(client):
            Message.objects.filter(ticket__source__kind=kind).delete()
            Ticket.objects.filter(source__kind=kind).delete()
            TicketSource.objects.filter(kind=kind).delete()
    return clients


def timed_polls(made: list[Any]) -> list[tuple[str, float, int, int]]:
    """The first poll of every mapped source (all new), then a second (incremental), each timed over all sources:
    ``(label, seconds, tickets created, messages added)``. The seeds are older than a default backfill: read all."""
    from django_tenants.utils import tenant_context

    from apps.tickets import polling, services
    from apps.tickets.models import TicketSource

    runs = []
    for label in ("first poll of every source (all new)", "second poll (incremental: nothing changed)"):
        started = time.perf_counter()
        created = new = 0
        for item in made:
            with tenant_context(item.client):
                config = services.source_config(client=item.client, source=item.source)
                services.update_source_config(
                    client=item.client, source=item.source, config={**config, "backfill_days": 3650}
                )
                TicketSource.objects.filter(pk=item.source.pk).update(next_poll_at=None)
                result = polling.poll(item.source.pk)
                assert result.status == "ok", result
                created, new = created + result.created, new + result.new_messages
        runs.append((label, time.perf_counter() - started, created, new))
    return runs


def replies_with_lost_answers(
    item: Any, *, replies: int, lose_every: int, lose: Callable[[Any], None]
) -> tuple[float, int]:
    """Deliver ``replies`` replies on ``item``'s tickets; before every ``lose_every``-th, ``lose(ticket)`` makes the
    stand-in lose the write's answer. A lost one is retried the way the Celery task retries it. (seconds, retried)"""
    from django_tenants.utils import tenant_context

    from apps.tickets import delivery, services
    from apps.tickets.models import Ticket

    retried = 0
    started = time.perf_counter()
    with tenant_context(item.client):
        tickets = list(Ticket.objects.filter(source=item.source).order_by("external_id")[:replies])
        for n in range(replies):
            ticket = tickets[n % len(tickets)]
            message = services.reply(ticket=ticket, body=f"Bench reply {n}", kind="public_reply", author=None)
            if n % lose_every == 0:
                lose(ticket)
            try:
                outcome = delivery.deliver(message.pk)
            except delivery.RetryDelivery:
                retried += 1
                outcome = delivery.deliver(message.pk)
            assert outcome == "sent", outcome
    return time.perf_counter() - started, retried


def print_polls(runs: list[tuple[str, float, int, int]], *, total: int, floor: float) -> None:
    print(f"  {'floor: bare httpx + json.loads, same reads':<46} {floor:7.2f} s  {total / floor:7.0f} tickets/s")
    for label, seconds, created, new in runs:
        # Only the first poll does the floor's work; the second asks for what changed since.
        rate = f"{total / seconds:7.0f} tickets/s  ({seconds / floor:4.1f}x floor)" if created else ""
        print(f"  {label:<46} {seconds:7.2f} s  {rate}  {created} created, {new} new messages")
