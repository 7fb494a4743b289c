"""The webhooks page: Admins only, the secret shown once and stored sealed, other clients' rows unreachable."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.core.secrets import unseal
from apps.tickets.outbound import services as outbound_services
from apps.tickets.outbound.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def shown_secret(response: Any) -> str:
    found = re.search(rb'data-testid="webhook-secret">(whsec_[\w-]+)<', response.content)
    assert found, response.content[:500]
    return found.group(1).decode()


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/inbox/webhooks/")
    assert page.status_code == 200 and b'data-testid="webhook-create-form"' in page.content
    response = alice.post(
        "/inbox/webhooks/new/",
        {"url": "https://hooks.example.com/gaby", "events": ["ticket.created", "message.created"]},
        **HX,
    )
    assert response.status_code == 200
    secret = shown_secret(response)
    with tenant_context(hartwell):
        endpoint = WebhookEndpoint.objects.get()
        assert endpoint.events == ["message.created", "ticket.created"]
        assert secret not in endpoint.sealed_secret
        assert unseal(hartwell, endpoint.sealed_secret, purpose=endpoint.secret_purpose) == secret
    assert secret.encode() not in alice.get("/inbox/webhooks/").content  # never shown again


def test_bad_input_says_what_to_fix(as_user: Any) -> None:
    alice = as_user("alice", "hartwell")
    response = alice.post("/inbox/webhooks/new/", {"url": "ftp://nope", "events": ["ticket.exploded"]}, **HX)
    assert response.status_code == 400
    assert b"Enter a valid URL" in response.content or b"http" in response.content
    assert b"ticket.exploded is not one of the available choices" in response.content


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_agents_and_other_clients_cannot_open_or_change_webhooks(as_user: Any, persona: str, hartwell: Any) -> None:
    with tenant_context(hartwell):
        endpoint, _ = outbound_services.create_endpoint(client=hartwell, url="https://h.example/x", event_types=[])
    browser = as_user(persona, "hartwell")
    assert browser.get("/inbox/webhooks/").status_code == 403
    assert browser.post("/inbox/webhooks/new/", {"url": "https://evil.example/"}).status_code == 403
    assert browser.post(f"/inbox/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert browser.post(f"/inbox/webhooks/{endpoint.pk}/rotate/").status_code == 403
    with tenant_context(hartwell):
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_carol_cannot_reach_hartwells_endpoint_from_her_own_client(as_user: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        endpoint, _ = outbound_services.create_endpoint(client=hartwell, url="https://h.example/x", event_types=[])
    carol = as_user("carol", "dearborn")
    assert carol.post(f"/inbox/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert carol.post(f"/inbox/webhooks/{endpoint.pk}/rotate/").status_code == 404
    assert b"h.example" not in carol.get("/inbox/webhooks/").content


def test_admin_disables_rotates_and_deletes(as_user: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        endpoint, first = outbound_services.create_endpoint(client=hartwell, url="https://h.example/x", event_types=[])
    alice = as_user("alice", "hartwell")
    response = alice.post(f"/inbox/webhooks/{endpoint.pk}/", {"url": "https://h.example/x"}, **HX)
    assert response.status_code == 200
    rotated = shown_secret(alice.post(f"/inbox/webhooks/{endpoint.pk}/rotate/", **HX))
    with tenant_context(hartwell):
        endpoint.refresh_from_db()
        assert endpoint.enabled is False
        assert rotated != first and unseal(hartwell, endpoint.sealed_secret, purpose=endpoint.secret_purpose) == rotated
    assert alice.post(f"/inbox/webhooks/{endpoint.pk}/delete/", **HX).status_code == 200
    with tenant_context(hartwell):
        assert not WebhookEndpoint.objects.exists()


def test_a_delivery_in_flight_is_not_redelivered(as_user: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        endpoint, _ = outbound_services.create_endpoint(client=hartwell, url="https://h.example/x", event_types=[])
        event = WebhookEvent.objects.create(type="ticket.created", payload={"id": "x"})
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status=DeliveryStatus.SENDING)
    response = as_user("alice", "hartwell").post(f"/inbox/webhooks/deliveries/{delivery.pk}/redeliver/", **HX)
    assert response.status_code == 409 and b"already on its way" in response.content
    assert as_user("carol", "dearborn").post(f"/inbox/webhooks/deliveries/{delivery.pk}/redeliver/").status_code == 404


def test_the_sweep_finds_pending_deliveries_whose_task_was_lost(hartwell: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.tickets.outbound.delivery import lost_delivery_ids

    with tenant_context(hartwell):
        endpoint, _ = outbound_services.create_endpoint(client=hartwell, url="https://h.example/x", event_types=[])
        old = timezone.now() - timedelta(hours=1)
        deliveries = {}
        for name, status, due in (
            ("lost", DeliveryStatus.PENDING, None),
            ("waiting_for_backoff", DeliveryStatus.PENDING, timezone.now() + timedelta(minutes=5)),
            ("in_flight", DeliveryStatus.SENDING, None),
            ("done", DeliveryStatus.DELIVERED, None),
        ):
            event = WebhookEvent.objects.create(type="ticket.created", payload={"id": name})
            delivery = WebhookDelivery.objects.create(
                event=event, endpoint=endpoint, status=status, next_attempt_at=due
            )
            WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
            deliveries[name] = delivery.pk
        fresh = WebhookDelivery.objects.create(
            event=WebhookEvent.objects.create(type="ticket.created", payload={}), endpoint=endpoint
        )
        found = set(lost_delivery_ids())
    assert found == {deliveries["lost"]} and fresh.pk not in found
