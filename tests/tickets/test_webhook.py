"""SRC-6: the generic inbound webhook, a django-ninja endpoint on the client's domain."""

import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.auditlog.models import AuditEvent
from apps.tickets.models import QuarantinedPayload, Ticket
from apps.tickets.sources.webhook.adapter import signature_for

pytestmark = pytest.mark.django_db
SECRET = "whsec-test-0123456789"
TICKET = {
    "external_id": "CRM-42",
    "title": "Invoice PDF is blank",
    "body": "The March invoice opens as an empty page.",
    "priority": "high",
    "contact": {"email": "ops@client.example", "name": "Ops"},
    "messages": [{"external_id": "CRM-42-1", "body": "The March invoice opens as an empty page.", "author": "Ops"}],
}


@pytest.fixture
def source(make_source: Any) -> Any:
    return make_source(kind="webhook", name="CRM", secret=SECRET)


def post(as_user: Any, source: Any, body: bytes, *, signature: str | None = None, where: str = "hartwell") -> Any:
    headers = {} if signature == "" else {"HTTP_X_GABY_SIGNATURE": signature or signature_for(SECRET, body)}
    return as_user(None, where).post(
        f"/api/v1/sources/{source.pk}/webhook", body, content_type="application/json", **headers
    )


def test_a_signed_delivery_creates_a_ticket_once(as_user: Any, source: Any, hartwell: Any) -> None:
    body = json.dumps(TICKET).encode()
    first = post(as_user, source, body)
    assert first.status_code == 200, first.content
    assert first.json()["created"] is True and first.json()["new_messages"] == 1
    again = post(as_user, source, body)
    assert again.json() == first.json() | {"created": False, "new_messages": 0}
    update = dict(TICKET, status="pending", messages=[*TICKET["messages"], {"external_id": "CRM-42-2", "body": "+1"}])
    assert post(as_user, source, json.dumps(update).encode()).json()["new_messages"] == 1
    with tenant_context(hartwell):
        ticket = Ticket.objects.get()
        assert (ticket.title, ticket.priority, ticket.status, ticket.messages.count()) == (
            "Invoice PDF is blank",
            "high",
            "pending",
            2,
        )


def test_a_bad_signature_is_401_with_the_reason_and_nothing_is_kept(as_user: Any, source: Any, hartwell: Any) -> None:
    body = json.dumps(TICKET).encode()
    wrong = post(as_user, source, body, signature=signature_for("another-secret", body))
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
    missing = post(as_user, source, body, signature="")
    assert missing.status_code == 401 and "Missing X-Gaby-Signature" in missing.json()["detail"]
    with tenant_context(hartwell):
        assert not Ticket.objects.exists() and not QuarantinedPayload.objects.exists()


def test_malformed_json_is_400_and_quarantined(as_user: Any, source: Any, hartwell: Any) -> None:
    response = post(as_user, source, b'{"external_id": "CRM-1", "title": ')
    assert response.status_code == 400
    assert response.json()["field"] == "(body)" and "not valid JSON" in response.json()["detail"]
    with tenant_context(hartwell):
        kept = QuarantinedPayload.objects.get()
        assert kept.raw == '{"external_id": "CRM-1", "title": ' and kept.source_id == source.pk


def test_a_schema_error_names_the_field(as_user: Any, source: Any, hartwell: Any) -> None:
    bad = dict(TICKET, messages=[{"external_id": "x", "body": "hi", "kind": "shout"}])
    response = post(as_user, source, json.dumps(bad).encode())
    assert response.status_code == 400
    assert response.json()["field"] == "messages.0.kind"
    assert response.json()["detail"].startswith("field 'messages.0.kind': Input should be")
    missing = post(as_user, source, json.dumps({"external_id": "CRM-2"}).encode())
    assert missing.json() == {"detail": "field 'title': Field required", "field": "title"}
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.count() == 2 and not Ticket.objects.exists()


def test_the_audit_names_the_sources_config_keys_never_its_secret(source: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        created = AuditEvent.objects.get(event="ticket_source.created")
    assert created.payload == {"source": str(source.pk), "kind": "webhook", "name": "CRM", "config_keys": ["secret"]}
    assert created.actor_kind == "system" and SECRET not in json.dumps(created.payload)


def test_another_clients_domain_does_not_know_the_source(as_user: Any, source: Any) -> None:
    body = json.dumps(TICKET).encode()
    response = post(as_user, source, body, where="dearborn")
    assert response.status_code == 404


def test_the_schema_is_documented_in_openapi(as_user: Any) -> None:
    assert as_user("carol", "hartwell").get("/api/v1/openapi.json").status_code == 403
    schema = as_user("bob", "hartwell").get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/sources/{source_id}/webhook"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"external_id", "title"}
    assert "X-Gaby-Signature" in operation["description"]
    assert {"400", "401", "404"} <= set(operation["responses"])


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("sla_due_at", "0001-01-01T00:00:00+05:00", "between 1970 and 2200"),
        ("sla_due_at", "2026-12-01T10:00:00+23:59", "offset"),
        ("sla_due_at", "2026-12-01T10:00:00", "time zone"),
    ],
)
def test_an_out_of_range_date_is_refused_at_the_edge_and_the_inbox_stays_up(
    as_user: Any, source: Any, hartwell: Any, field: str, value: str, says: str
) -> None:
    """Issue 18: a year-1 date was stored as 1 BC and every inbox page and GET /api/v1/tickets answered 500."""
    body = json.dumps(dict(TICKET, **{field: value})).encode()
    response = post(as_user, source, body)
    assert response.status_code == 400 and response.json()["field"] == field and says in response.json()["detail"]
    with tenant_context(hartwell):
        kept = QuarantinedPayload.objects.get()
        assert value in kept.raw and says in kept.error and not Ticket.objects.exists()
    alice = as_user("alice", "hartwell")
    assert alice.get("/inbox/").status_code == 200 and alice.get("/api/v1/tickets").status_code == 200


def test_a_message_date_is_bounded_too(as_user: Any, source: Any, hartwell: Any) -> None:
    message = dict(TICKET["messages"][0], created_at="9999-12-31T23:59:59+00:00")  # type: ignore[arg-type]
    response = post(as_user, source, json.dumps(dict(TICKET, messages=[message])).encode())
    assert response.status_code == 400 and response.json()["field"] == "messages.0.created_at"


def test_whatever_ingestion_raises_is_quarantined_with_its_error(
    as_user: Any, source: Any, hartwell: Any, monkeypatch: Any
) -> None:
    """Storing fails for a reason nobody foresaw (here: the database refuses the row): the delivery is kept with
    the reason, never lost. (A NUL, the first such reason found, is now stripped at the edge.)"""
    from django.db import DataError

    from apps.tickets import services

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DataError("value too long for type character varying(500)")

    monkeypatch.setattr(services, "_create_ticket", refuse)
    body = json.dumps(TICKET).encode()
    response = post(as_user, source, body)
    assert response.status_code == 422 and "kept in this source's quarantine" in response.json()["detail"]
    with tenant_context(hartwell):
        kept = QuarantinedPayload.objects.get()
        assert "CRM-42" in kept.raw and "value too long" in kept.error and not Ticket.objects.exists()


def test_a_nul_in_a_webhook_delivery_is_stripped_and_the_ticket_kept(as_user: Any, source: Any, hartwell: Any) -> None:
    body = json.dumps(dict(TICKET, title="Invoice\u0000 PDF")).encode()
    assert post(as_user, source, body).status_code == 200
    with tenant_context(hartwell):
        assert Ticket.objects.get().title == "Invoice PDF"
