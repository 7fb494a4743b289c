"""Values refused or bounded at the edge, once for every entry point (issue 18, item 9): each of these answered 500
before. The bounded schemathesis run over the whole API is tests/test_api_fuzz.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from apps.apikeys import services as keys
from apps.knowledge import candidates
from apps.tickets.models import QuarantinedPayload
from apps.tickets.sources.webhook.adapter import signature_for

pytestmark = pytest.mark.django_db
SECRET = "whsec-edges-0123456789"


def _key(client: Any, role: str, people: Any) -> HttpClient:
    with tenant_context(client):
        token = keys.create_key(name="Script", role=role, actor=people["alice"])[1]
    return HttpClient(HTTP_HOST=f"{client.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize(
    "url", ["/api/v1/tickets?q=a%00b", "/api/v1/knowledge/search?q=%00", "/inbox/?q=%00", "/api/v1/tickets?x%00=1"]
)
def test_a_nul_in_the_url_is_a_400_that_says_so(as_user: Any, url: str) -> None:
    response = as_user("alice", "hartwell").get(url)
    assert response.status_code == 400 and "NUL character" in response.json()["detail"]


def test_a_nul_in_a_json_body_is_a_400_that_says_so(hartwell: Any, people: Any, make_source: Any) -> None:
    source = make_source()
    api = _key(hartwell, "agent", people)
    body = json.dumps({"source_id": str(source.pk), "title": "a\u0000b"})
    response = api.post("/api/v1/tickets", body, content_type="application/json")
    assert response.status_code == 400 and "NUL character" in response.json()["detail"]


def test_numbers_dates_and_lengths_are_bounded(hartwell: Any, people: Any, make_source: Any) -> None:
    api = _key(hartwell, "admin", people)
    assert api.get("/api/v1/knowledge/documents?offset=-5").status_code == 422
    assert api.get("/api/v1/knowledge/documents?offset=99999999999").status_code == 422
    far = api.get("/api/v1/knowledge/search", {"q": "vpn", "modified_after": "4361-07-21T04:06:04+17:13"})
    assert far.status_code == 422 and "offset" in json.dumps(far.json())
    body = {"source_id": str(make_source().pk), "title": "Hi", "contact_name": "x" * 201, "contact_email": "a@b.c"}
    assert api.post("/api/v1/tickets", json.dumps(body), content_type="application/json").status_code == 422


def test_the_stale_page_clamps_its_days(as_user: Any) -> None:
    page = as_user("alice", "hartwell").get("/knowledge/health/?days=1000000000")
    assert page.status_code == 200 and page.context["days"] == 3650


def test_a_hundred_thousand_levels_of_json_to_a_webhook_are_refused_and_kept(
    as_user: Any, hartwell: Any, make_source: Any
) -> None:
    source = make_source(kind="webhook", name="CRM", secret=SECRET)
    body = b"[" * 100_000 + b"]" * 100_000
    response = as_user(None, "hartwell").post(
        f"/api/v1/sources/{source.pk}/webhook",
        body,
        content_type="application/json",
        HTTP_X_GABY_SIGNATURE=signature_for(SECRET, body),
    )
    assert response.status_code == 400 and "nests deeper than 64 levels" in response.json()["detail"]
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.get(source=source).raw.startswith("[[[")


def test_an_admin_api_key_creates_a_knowledge_source_but_never_a_server_path(hartwell: Any, people: Any) -> None:
    api = _key(hartwell, "admin", people)
    made = api.post(
        "/api/v1/knowledge/sources",
        json.dumps({"kind": "git", "name": "Docs", "url": "https://git.example/docs.git"}),
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    local = api.post(
        "/api/v1/knowledge/sources",
        json.dumps({"kind": "directory", "name": "Etc", "path": "/etc"}),
        content_type="application/json",
    )
    assert local.status_code == 400 and "MSP staff" in json.dumps(local.json())


def test_a_candidate_decided_by_an_api_key_says_which_key(hartwell: Any, people: Any) -> None:
    with tenant_context(hartwell):
        candidate = candidates.propose_candidate(
            title="VPN on hotel Wi-Fi", body="Use the TCP profile on port 443.", origin_kind="correction"
        )
    accepted = _key(hartwell, "agent", people).post(
        f"/api/v1/knowledge/candidates/{candidate.pk}/accept", "", content_type="application/json"
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["reviewer"] is None and accepted.json()["reviewed_by"] == "API key Script"
