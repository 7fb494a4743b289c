"""Live inbox events over the channel layer, and the tenant-aware polling fan-out of Celery beat."""

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.channels import tenant_group
from apps.tickets import services, tasks
from apps.tickets.models import Ticket, TicketSource
from apps.tickets.normalized import NormalizedMessage, NormalizedTicket
from gaby_site.celery import app
from tests.tickets.conftest import free_port
from tests.tickets.test_email import customer_email

pytestmark = pytest.mark.django_db


class Listener:
    """A channel subscribed to one client's live group, as the shell's socket is."""

    def __init__(self, schema: str) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(tenant_group(schema, "live"), self.channel)

    def collect(self, count: int, timeout: float = 3) -> list[dict[str, Any]]:
        """Receive ``count`` events in one event loop (the Redis layer buffers per loop), or fewer on timeout."""

        async def gather() -> list[dict[str, Any]]:
            events: list[dict[str, Any]] = []
            try:
                while len(events) < count:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), timeout=timeout)
                    events.append(message["payload"])
            except TimeoutError:
                pass
            return events

        return async_to_sync(gather)()


def test_ingest_and_reply_broadcast_rendered_partials_to_the_clients_group_only(
    hartwell: Any, make_source: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    source = make_source(kind="webhook", name="CRM", secret="s")
    in_hartwell, in_dearborn = Listener("hartwell"), Listener("dearborn")
    normalized = NormalizedTicket("L-1", "Laptop will not boot", messages=(NormalizedMessage("m1", "black screen"),))
    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=True):
        ticket = services.ingest_ticket(source=source, normalized=normalized).ticket
    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=True):
        services.reply(ticket=ticket, body="Hold the power button 10s.", kind="internal_note", author=people["bob"])
    row, message, update, note = in_hartwell.collect(4)
    assert (row["type"], row["target"], row["swap"]) == ("swap", '#inbox-rows[data-live~="ticket"]', "afterbegin")
    assert f'id="ticket-{ticket.pk}"' in row["html"] and "Laptop will not boot" in row["html"]
    assert message["target"] == f"#thread-{ticket.pk}" and "black screen" in message["html"]
    assert update["target"] == f"#ticket-{ticket.pk}" and update["swap"] == "outerHTML" and "Open" in update["html"]
    assert note["swap"] == "beforeend" and "Hold the power button" in note["html"]
    assert in_hartwell.collect(1, timeout=0.3) == []
    assert in_dearborn.collect(1, timeout=0.3) == []  # another client's pages never hear of it


def test_nothing_is_rendered_while_no_page_of_the_client_is_open(
    hartwell: Any, make_source: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.core.live import pages_open
    from apps.tickets import live

    source = make_source(kind="webhook", name="CRM", secret="s")
    normalized = NormalizedTicket("L-2", "Printer jammed", messages=(NormalizedMessage("m1", "paper stuck"),))
    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=False):
        ticket = services.ingest_ticket(source=source, normalized=normalized).ticket
    with tenant_context(hartwell):
        assert not pages_open()
        with CaptureQueriesContext(connection) as nobody_open:
            live.announce(ticket_id=ticket.pk, created=True, message_ids=[])
        assert len(nobody_open) == 0  # neither the row read nor its render
        in_hartwell = Listener("hartwell")  # a page opens
        assert pages_open()
        with CaptureQueriesContext(connection) as one_open:
            live.announce(ticket_id=ticket.pk, created=True, message_ids=[])
        assert len(one_open) > 0
    [row] = in_hartwell.collect(1)
    assert "Printer jammed" in row["html"]


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run in this thread (on this test's transaction) instead of through the broker."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_beat_fans_out_to_due_sources_of_every_client(
    hartwell: Any, dearborn: Any, make_source: Any, imap_server: Any, eager_celery: None
) -> None:
    imap_server.deliver(customer_email())
    due = make_source(kind="email", name="Support", **imap_server.config())
    later = make_source(kind="email", name="Billing", **imap_server.config())
    make_source(kind="webhook", name="CRM", secret="s")  # webhooks are never polled
    with tenant_context(hartwell):
        TicketSource.objects.filter(pk=later.pk).update(next_poll_at=timezone.now() + timedelta(minutes=5))
    with tenant_context(dearborn):
        broken = services.create_source(
            client=dearborn,
            kind="email",
            name="Dearborn mail",
            config={"imap_host": "127.0.0.1", "imap_port": free_port(), "imap_security": "none"},
        )
    assert tasks.poll_due_sources.apply().get() == 2
    with tenant_context(hartwell):
        assert Ticket.objects.get().source_id == due.pk
        assert TicketSource.objects.get(pk=due.pk).next_poll_at > timezone.now()
        assert TicketSource.objects.get(pk=later.pk).last_sync_at is None
    with tenant_context(dearborn):
        broken.refresh_from_db()
        assert "unreachable" in broken.last_error and broken.consecutive_failures == 1
        assert not Ticket.objects.exists()
    # The failing source is not due again until its backoff has passed.
    assert tasks.poll_due_sources.apply().get() == 0


def test_a_running_poll_holds_a_lease(hartwell: Any, make_source: Any, imap_server: Any) -> None:
    from apps.tickets import polling

    source = make_source(kind="email", name="Support", **imap_server.config())
    with tenant_context(hartwell):
        now = timezone.now()
        assert polling.claim(source.pk, now)
        assert polling.poll(source.pk).status == "busy"
        assert polling.due_source_ids() == []
        TicketSource.objects.filter(pk=source.pk).update(polling_since=now - polling.LEASE - timedelta(seconds=1))
        assert polling.poll(source.pk).status == "ok"  # a lease left by a crashed worker expires
