"""Outbound webhooks (SRC-6) end to end: a change commits, a real Celery worker delivers it to a real
HTTP receiver, signed, retried with backoff, logged, never sent twice for the same event on task retry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from apps.core.secrets import seal
from apps.tickets import services
from apps.tickets.models import Ticket, TicketSource
from apps.tickets.normalized import NormalizedMessage, NormalizedTicket
from apps.tickets.outbound import signing
from apps.tickets.outbound.delivery import backoff_seconds
from apps.tickets.outbound.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from apps.tickets.tasks import deliver_webhook
from tests.http_receiver import Receiver, http_receiver

pytestmark = pytest.mark.django_db


def committed(func: Callable[[], Any]) -> Any:
    """Run ``func`` on another thread's connection (autocommit): its transactions commit, on_commit fires."""

    def run() -> Any:
        try:
            return func()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver("/hooks/gaby") as r:
        yield r


@pytest.fixture
def committed_source(world: Any) -> Iterator[TicketSource]:
    hartwell = world.clients["hartwell"]

    def make() -> TicketSource:
        with tenant_context(hartwell):  # no service: its audit row would stay committed for the whole session
            return TicketSource.objects.create(kind="webhook", name="Outbound test")

    source = committed(make)
    yield source

    def clean() -> None:
        with tenant_context(hartwell):
            WebhookEndpoint.objects.all().delete()
            WebhookEvent.objects.all().delete()
            Ticket.objects.filter(source=source).delete()
            TicketSource.objects.filter(pk=source.pk).delete()

    committed(clean)


def _endpoint(world: Any, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    hartwell = world.clients["hartwell"]

    def make() -> tuple[WebhookEndpoint, str]:
        with tenant_context(hartwell):  # as create_endpoint does, without its audit row (committed here)
            secret = signing.new_secret()
            endpoint = WebhookEndpoint(url=url, events=events)
            endpoint.sealed_secret = seal(hartwell, secret, purpose=endpoint.secret_purpose)
            endpoint.save()
            return endpoint, secret

    result: tuple[WebhookEndpoint, str] = committed(make)
    return result


def _ingest(world: Any, source: TicketSource, external_id: str, **fields: Any) -> Ticket:
    def run() -> Ticket:
        with tenant_context(world.clients["hartwell"]):
            normalized = NormalizedTicket(external_id=external_id, title="Printer on fire", **fields)
            return services.ingest_ticket(source=source, normalized=normalized).ticket

    ticket: Ticket = committed(run)
    return ticket


def _delivery(world: Any, **filters: Any) -> WebhookDelivery:
    def read() -> WebhookDelivery:
        with tenant_context(world.clients["hartwell"]):
            return WebhookDelivery.objects.select_related("event").prefetch_related("attempt_log").get(**filters)

    delivery: WebhookDelivery = committed(read)
    return delivery


def _wait_status(world: Any, status: str, **filters: Any) -> WebhookDelivery:
    deadline = time.monotonic() + 30
    while True:
        delivery = _delivery(world, **filters)
        if delivery.status == status:
            return delivery
        assert time.monotonic() < deadline, f"delivery still {delivery.status}, wanted {status}"
        time.sleep(0.1)


def test_a_failed_delivery_is_retried_with_backoff_signed_and_never_sent_twice(
    world: Any, celery_worker: Any, committed_source: TicketSource, receiver: Receiver, settings: Any
) -> None:
    settings.TICKETS_WEBHOOK_RETRY_BASE_SECONDS = 1
    receiver.script = [500]  # the receiver fails once, then accepts
    endpoint, secret = _endpoint(world, receiver.url, ["ticket.created"])

    ticket = _ingest(world, committed_source, "out-1")

    first, second = receiver.wait_for(2)
    # The same event, signed with the endpoint's secret over timestamp + body, on every attempt.
    for request in (first, second):
        assert request.headers[signing.EVENT_HEADER] == "ticket.created"
        assert signing.verify(
            secret,
            body=request.body,
            timestamp=request.headers[signing.TIMESTAMP_HEADER],
            signature_header=request.headers[signing.SIGNATURE_HEADER],
        )
    assert first.headers[signing.EVENT_ID_HEADER] == second.headers[signing.EVENT_ID_HEADER]
    assert not signing.verify(
        "whsec_wrong",
        body=second.body,
        timestamp=second.headers[signing.TIMESTAMP_HEADER],
        signature_header=second.headers[signing.SIGNATURE_HEADER],
    )
    payload = json.loads(second.body)
    assert payload["type"] == "ticket.created" and payload["client"] == "hartwell"
    assert payload["data"]["ticket"]["id"] == str(ticket.pk) and payload["data"]["ticket"]["title"] == "Printer on fire"
    assert payload["id"] == second.headers[signing.EVENT_ID_HEADER]

    delivery = _wait_status(world, DeliveryStatus.DELIVERED, endpoint=endpoint)
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    assert [(a.number, a.status_code) for a in delivery.attempt_log.all()] == [(1, 500), (2, 200)]

    # The task runs again (a retry, a redelivered broker message): the delivery is claimed by nobody.
    with tenant_context(world.clients["hartwell"]):
        assert deliver_webhook.delay(str(delivery.pk)).get(timeout=30) == "not-pending"
    time.sleep(0.3)
    assert len(receiver.requests) == 2
    # The filter held: only ticket.created reached this endpoint (no message.created, no updates).
    assert {r.headers[signing.EVENT_HEADER] for r in receiver.requests} == {"ticket.created"}


def test_events_for_updates_status_and_messages_reach_an_all_events_endpoint(
    world: Any, celery_worker: Any, committed_source: TicketSource, receiver: Receiver
) -> None:
    _endpoint(world, receiver.url, [])
    ticket = _ingest(world, committed_source, "out-2", status="open")
    message = NormalizedMessage(external_id="m-1", body="It is still on fire")
    _ingest(world, committed_source, "out-2", status="solved", priority="urgent", messages=(message,))

    def close() -> None:
        with tenant_context(world.clients["hartwell"]):
            services.change_status(ticket=Ticket.objects.get(pk=ticket.pk), status="closed")

    committed(close)
    requests = receiver.wait_for(5)
    time.sleep(0.3)
    seen = sorted(
        (r.headers[signing.EVENT_HEADER], json.dumps(json.loads(r.body)["data"].get("changes"))) for r in requests
    )
    assert [s[0] for s in seen] == [
        "message.created",
        "ticket.created",
        "ticket.status_changed",
        "ticket.status_changed",
        "ticket.updated",
    ]
    changes = [json.loads(c) for kind, c in seen if kind == "ticket.status_changed"]
    assert {"status": {"from": "open", "to": "solved"}} in changes
    assert {"status": {"from": "solved", "to": "closed"}} in changes
    assert json.loads(seen[-1][1]) == {"priority": {"from": "normal", "to": "urgent"}}
    assert len({r.headers[signing.EVENT_ID_HEADER] for r in requests}) == 5


def test_retries_stop_at_the_limit_and_an_admin_redelivers_with_the_same_event_id(
    world: Any, celery_worker: Any, committed_source: TicketSource, receiver: Receiver, settings: Any
) -> None:
    settings.TICKETS_WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.TICKETS_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.default = 503
    endpoint, _ = _endpoint(world, receiver.url, ["ticket.created"])
    _ingest(world, committed_source, "out-3")

    failed = _wait_status(world, DeliveryStatus.FAILED, endpoint=endpoint)
    assert failed.attempts == 3 and failed.last_status_code == 503
    assert "503" in failed.last_error
    assert len(receiver.wait_for(3)) == 3

    receiver.default = 200

    def press_redeliver() -> int:
        browser = HttpClient(HTTP_HOST="hartwell.localhost", HTTP_HX_REQUEST="true")
        browser.cookies[settings.SESSION_COOKIE_NAME] = world.sessions["alice"]
        response = browser.post(f"/inbox/webhooks/deliveries/{failed.pk}/redeliver/")
        assert b"Queued again" in response.content
        return response.status_code

    assert committed(press_redeliver) == 200
    delivered = _wait_status(world, DeliveryStatus.DELIVERED, endpoint=endpoint)
    assert delivered.attempts == 4
    assert [a.manual for a in delivered.attempt_log.all()] == [False, False, False, True]
    requests = receiver.wait_for(4)
    assert len({r.headers[signing.EVENT_ID_HEADER] for r in requests}) == 1


def test_backoff_doubles_and_is_capped(settings: Any) -> None:
    settings.TICKETS_WEBHOOK_RETRY_BASE_SECONDS = 30
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(20) == 6 * 3600


def test_nothing_is_stored_when_no_endpoint_listens(in_hartwell: Any, make_source: Any) -> None:
    source = make_source()
    services.ingest_ticket(source=source, normalized=NormalizedTicket(external_id="quiet", title="Quiet"))
    assert not WebhookEvent.objects.exists()
