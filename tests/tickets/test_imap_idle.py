"""IMAP IDLE against the real pymap server: new mail wakes the pull at once, through the real worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.secrets import seal_json
from apps.tickets.models import Ticket, TicketSource
from apps.tickets.sources.email.adapter import EmailAdapter
from apps.tickets.sources.email.idle import MailboxWatcher
from apps.tickets.sources.email.listener import IdleListener, queue_poll
from tests.tickets.test_email import customer_email

pytestmark = pytest.mark.django_db


def committed(func: Any) -> Any:
    def run() -> Any:
        try:
            return func()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def test_the_watcher_returns_as_soon_as_mail_arrives(imap_server: Any) -> None:
    adapter = EmailAdapter(source_id="idle-test", config=imap_server.config())
    with MailboxWatcher(adapter) as watcher:
        assert watcher.wait(0.5) is False  # nothing new: the wait simply ends
        threading.Timer(0.5, imap_server.deliver, args=[customer_email("<idle-1@client.example>")]).start()
        started = time.monotonic()
        assert watcher.wait(20) is True
        assert time.monotonic() - started < 10
        # The same connection idles again afterwards.
        threading.Timer(0.3, imap_server.deliver, args=[customer_email("<idle-2@client.example>")]).start()
        assert watcher.wait(20) is True


@pytest.fixture
def committed_mailbox(world: Any, imap_server: Any) -> Iterator[TicketSource]:
    hartwell = world.clients["hartwell"]

    def make() -> TicketSource:
        with tenant_context(hartwell):
            # Not due for a regular poll for an hour: only IDLE can bring the mail in quickly.
            source = TicketSource.objects.create(
                kind="email", name="Idle mailbox", next_poll_at=timezone.now() + timezone.timedelta(hours=1)
            )
            source.sealed_config = seal_json(hartwell, imap_server.config(), purpose=source.secret_purpose)
            source.save(update_fields=["sealed_config"])
            return source

    source = committed(make)
    yield source

    def clean() -> None:
        with tenant_context(hartwell):
            Ticket.objects.filter(source=source).delete()
            TicketSource.objects.filter(pk=source.pk).delete()

    committed(clean)


def _tickets(world: Any, source: TicketSource) -> list[str]:
    def read() -> list[str]:
        with tenant_context(world.clients["hartwell"]):
            return list(Ticket.objects.filter(source=source).values_list("title", flat=True))

    titles: list[str] = committed(read)
    return titles


def test_the_listener_pulls_new_mail_immediately(
    world: Any, celery_worker: Any, committed_mailbox: TicketSource, imap_server: Any
) -> None:
    wakes: list[UUID] = []

    def wake(client: Any, source_id: UUID) -> None:
        wakes.append(source_id)
        queue_poll(client, source_id)

    stop = threading.Event()
    listener = IdleListener(wake=wake, idle_seconds=1, rescan_seconds=0.5)
    thread = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while committed_mailbox.pk not in wakes:  # connected: the first wake catches up on what was there
            assert time.monotonic() < deadline, "the listener never connected"
            time.sleep(0.1)
        time.sleep(1.0)  # let that first poll finish
        assert _tickets(world, committed_mailbox) == []
        imap_server.deliver(customer_email("<idle-live@client.example>", Subject="Printer jammed"))
        arrived = time.monotonic()
        while _tickets(world, committed_mailbox) != ["Printer jammed"]:
            assert time.monotonic() - arrived < 20, f"not pulled; wakes so far: {len(wakes)}"
            time.sleep(0.2)
        assert len(wakes) >= 2 and listener.unsupported == {}
    finally:
        stop.set()
        thread.join(timeout=15)
        for t in listener.threads.values():
            t.join(timeout=15)
