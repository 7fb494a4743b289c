"""Per-client API keys: created and revoked by Admins on Settings → API keys, shown once, hashed at rest,
acting with their role, and valid on their own client's domain only."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from apps.apikeys import services as keys
from apps.apikeys.models import ApiKey
from apps.auditlog.models import AuditEvent
from apps.tickets import services
from apps.tickets.models import Message
from apps.tickets.normalized import NormalizedTicket

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def api(token: str, where: str = "hartwell") -> HttpClient:
    return HttpClient(HTTP_HOST=f"{where}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def make_key(client: Any, role: str, people: Any, name: str = "Script") -> str:
    with tenant_context(client):
        return keys.create_key(name=name, role=role, actor=people["alice"])[1]


@pytest.fixture
def ticket(hartwell: Any, make_source: Any) -> Any:
    source = make_source()
    with tenant_context(hartwell):
        return services.ingest_ticket(source=source, normalized=NormalizedTicket(external_id="K-1", title="VPN")).ticket


def test_an_admin_creates_a_key_shown_once_and_stored_hashed(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    assert alice.get("/settings/api-keys/").status_code == 200
    response = alice.post("/settings/api-keys/new/", {"name": "CRM sync", "role": "agent"}, **HX)
    assert response.status_code == 200
    token = re.search(rb'data-testid="api-key-token">(gaby_[\w-]+)<', response.content).group(1).decode()  # type: ignore[union-attr]
    with tenant_context(hartwell):
        key = ApiKey.objects.get()
    assert key.role == "agent" and key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.filter(pk=key.pk).values().first())
    assert token.encode() not in alice.get("/settings/api-keys/").content
    assert api(token).get("/api/v1/tickets").status_code == 200


def test_bad_input_says_what_to_fix(as_user: Any) -> None:
    response = as_user("alice", "hartwell").post("/settings/api-keys/new/", {"name": "", "role": "root"}, **HX)
    assert response.status_code == 400
    assert b"Name the key after what uses it" in response.content
    assert b"root is not one of the available choices" in response.content


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_only_admins_of_the_client_manage_keys(as_user: Any, persona: str, hartwell: Any, people: Any) -> None:
    make_key(hartwell, "admin", people)
    with tenant_context(hartwell):
        key = ApiKey.objects.get()
    browser = as_user(persona, "hartwell")
    assert browser.get("/settings/api-keys/").status_code == 403
    assert browser.post("/settings/api-keys/new/", {"name": "x", "role": "admin"}).status_code == 403
    assert browser.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 403
    # From her own client's domain, carol cannot even find Hartwell's key.
    assert as_user("carol", "dearborn").post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 404
    with tenant_context(hartwell):
        assert ApiKey.objects.get().revoked_at is None


def test_a_key_of_one_client_never_works_on_another(hartwell: Any, dearborn: Any, people: Any, ticket: Any) -> None:
    dearborn_token = make_key(dearborn, "admin", people)
    assert api(dearborn_token, "dearborn").get("/api/v1/tickets").status_code == 200
    refused = api(dearborn_token, "hartwell")
    assert refused.get("/api/v1/tickets").status_code == 401
    assert refused.get(f"/api/v1/tickets/{ticket.pk}").status_code == 401
    assert (
        refused.post(
            f"/api/v1/tickets/{ticket.pk}/messages", {"body": "hi"}, content_type="application/json"
        ).status_code
        == 401
    )
    # And a Hartwell key cannot reach Hartwell's ticket through Dearborn's domain.
    hartwell_token = make_key(hartwell, "admin", people)
    assert api(hartwell_token, "dearborn").get(f"/api/v1/tickets/{ticket.pk}").status_code == 401


def test_a_viewer_key_reads_and_never_writes(hartwell: Any, people: Any, ticket: Any) -> None:
    client = api(make_key(hartwell, "viewer", people))
    assert client.get(f"/api/v1/tickets/{ticket.pk}").json()["title"] == "VPN"
    refused = client.post(f"/api/v1/tickets/{ticket.pk}/messages", {"body": "hi"}, content_type="application/json")
    assert refused.status_code == 403 and "Agent role" in refused.json()["detail"]
    assert (
        client.patch(f"/api/v1/tickets/{ticket.pk}", {"status": "open"}, content_type="application/json").status_code
        == 403
    )
    with tenant_context(hartwell):
        assert not Message.objects.filter(ticket=ticket).exists()


def test_an_agent_key_writes_is_audited_as_the_key_and_records_last_use(
    hartwell: Any, people: Any, ticket: Any
) -> None:
    token = make_key(hartwell, "agent", people, name="Runbook bot")
    response = api(token).post(
        f"/api/v1/tickets/{ticket.pk}/messages", {"body": "Restarted the VPN gateway."}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["author_label"] == "API key Runbook bot"
    with tenant_context(hartwell):
        key = ApiKey.objects.get()
        assert key.last_used_at is not None
        replied = AuditEvent.objects.get(event="ticket.replied")
        assert (replied.actor_kind, replied.actor_id) == ("system", f"api-key:{key.prefix}")
        assert Message.objects.get(ticket=ticket).author_user_id is None


def test_revoked_and_malformed_keys_are_refused(as_user: Any, hartwell: Any, people: Any) -> None:
    token = make_key(hartwell, "admin", people)
    assert api(token).get("/api/v1/tickets").status_code == 200
    with tenant_context(hartwell):
        key = ApiKey.objects.get()
    assert as_user("alice", "hartwell").post(f"/settings/api-keys/{key.pk}/revoke/", **HX).status_code == 200
    assert api(token).get("/api/v1/tickets").status_code == 401
    for bad in ("gaby_nothing", token[:-2] + "xx", "not-a-key", ""):
        assert api(bad).get("/api/v1/tickets").status_code == 401
    with tenant_context(hartwell):
        assert AuditEvent.objects.filter(event__startswith="api_key.").count() == 2
