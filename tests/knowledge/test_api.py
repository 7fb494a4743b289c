"""The knowledge API (django-ninja under /api/v1/): same services, same access rules as the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Role
from apps.knowledge.candidates import propose_candidate
from apps.knowledge.models import CandidateStatus, Document, KBCandidate, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.services import create_source, sync_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(hartwell: Any, runbooks: Path) -> dict[str, Any]:
    with tenant_context(hartwell):
        source = create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
        sync_now(source=source)
        candidate = propose_candidate(title="Toner", body="Replace the toner.", origin_kind="investigation")
        return {"source": source, "candidate": candidate, "document": Document.objects.get(uri="vpn.md")}


def test_search_returns_cited_explained_passages(as_user: Any, hartwell: Any, kb: Any) -> None:
    response = as_user("bob", "hartwell").get("/api/v1/knowledge/search", {"q": "reset VPN password", "limit": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "hybrid" and 1 <= len(body["hits"]) <= 3
    hit = body["hits"][0]
    assert hit["citation"]["heading_path"] == ["VPN runbook", "Reset a user's VPN password"]
    assert hit["citation"]["label"] == "VPN runbook § Reset a user's VPN password (lines 5-7)"
    assert {"reset", "vpn", "password"} <= set(hit["explanation"]["matched_terms"])
    assert hit["explanation"]["fused_score"] > 0
    with tenant_context(hartwell):  # the API is real use: it counts
        assert Document.objects.get(uri="vpn.md").retrieved_count == 1
    filtered = as_user("bob", "hartwell").get(
        "/api/v1/knowledge/search", {"q": "vpn", "source": "01900000-0000-7000-8000-000000000000"}
    )
    assert filtered.json()["hits"] == []
    assert as_user("bob", "hartwell").get("/api/v1/knowledge/search", {"q": " "}).status_code == 400


def test_sources_documents_and_candidates(as_user: Any, hartwell: Any, kb: Any, runbooks: Path) -> None:
    bob = as_user("bob", "hartwell")
    sources = bob.get("/api/v1/knowledge/sources").json()
    assert [s["name"] for s in sources] == ["Runbooks"] and sources[0]["status"] == "ok"
    documents = bob.get("/api/v1/knowledge/documents", {"source": str(kb["source"].pk)}).json()
    assert len(documents) == 4
    detail = bob.get(f"/api/v1/knowledge/documents/{kb['document'].pk}").json()
    assert detail["title"] == "VPN runbook" and detail["chunks"][0]["line_start"] == 5
    candidates = bob.get("/api/v1/knowledge/candidates").json()
    assert [c["title"] for c in candidates] == ["Toner"]

    created = bob.post(
        "/api/v1/knowledge/candidates",
        {"title": "Wi-Fi", "body": "Guest SSID.", "origin_kind": "correction", "origin_ref": "T-42"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["status"] == "proposed"
    rejected = bob.post(f"/api/v1/knowledge/candidates/{created.json()['id']}/reject")
    assert rejected.json()["status"] == "rejected"
    accepted = bob.post(
        f"/api/v1/knowledge/candidates/{kb['candidate'].pk}/accept",
        {"title": "Replace the toner"},
        content_type="application/json",
    )
    assert accepted.status_code == 200 and accepted.json()["title"] == "Replace the toner"
    again = bob.post(f"/api/v1/knowledge/candidates/{kb['candidate'].pk}/accept", {}, content_type="application/json")
    assert again.status_code == 400 and "already accepted" in again.json()["detail"]
    bad = bob.post("/api/v1/knowledge/candidates", {"title": "", "body": ""}, content_type="application/json")
    assert bad.status_code == 400 and "title" in bad.json()["detail"]

    assert bob.post(f"/api/v1/knowledge/sources/{kb['source'].pk}/sync").status_code == 202
    assert bob.post(f"/api/v1/knowledge/sources/{kb['source'].pk}/sync").status_code == 409
    new = {"kind": "directory", "name": "More", "path": str(runbooks)}
    assert bob.post("/api/v1/knowledge/sources", new, content_type="application/json").status_code == 403
    alice = as_user("alice", "hartwell")  # a client's Admin: not a folder on the Gaby server (MSP staff only)
    refused = alice.post("/api/v1/knowledge/sources", new, content_type="application/json")
    assert refused.status_code == 400 and "Only MSP staff" in refused.json()["detail"]["path"][0]
    mona = as_user("mona", "hartwell")
    made = mona.post("/api/v1/knowledge/sources", new, content_type="application/json")
    assert made.status_code == 201 and made.json()["status"] == SyncStatus.QUEUED
    wrong = mona.post(
        "/api/v1/knowledge/sources", {**new, "name": "X", "path": "nope"}, content_type="application/json"
    )
    assert wrong.status_code == 400 and "absolute path" in wrong.json()["detail"]["path"][0]
    assert bob.post(
        "/api/v1/knowledge/citations", {"document_ids": [str(kb["document"].pk)]}, content_type="application/json"
    ).json() == {"recorded": 1}


def test_api_ownership_and_roles(as_user: Any, hartwell: Any, kb: Any, people: dict[str, Any]) -> None:
    s, c, d = kb["source"].pk, kb["candidate"].pk, kb["document"].pk
    reads = [
        "/api/v1/knowledge/search?q=vpn",
        "/api/v1/knowledge/sources",
        f"/api/v1/knowledge/sources/{s}",
        "/api/v1/knowledge/documents",
        f"/api/v1/knowledge/documents/{d}",
        "/api/v1/knowledge/candidates",
    ]
    writes = [
        "/api/v1/knowledge/sources",
        f"/api/v1/knowledge/sources/{s}/sync",
        "/api/v1/knowledge/candidates",
        f"/api/v1/knowledge/candidates/{c}/accept",
        f"/api/v1/knowledge/candidates/{c}/reject",
        "/api/v1/knowledge/citations",
    ]
    carol = as_user("carol", "hartwell")
    for url in reads + writes:
        # The API authenticates in django-ninja (gaby_site/api.py): a method an endpoint does not serve is
        # answered 405 before authentication, which reveals nothing; every served method is 403.
        assert carol.get(url).status_code in (403, 405), url
        assert carol.post(url, {}, content_type="application/json").status_code in (403, 405), url
    assert carol.get("/api/v1/knowledge/search?q=vpn").status_code == 403
    assert carol.post("/api/v1/knowledge/sources", {}, content_type="application/json").status_code == 403
    mona_on_dearborn = as_user("mona", "dearborn")
    for url in (f"/api/v1/knowledge/sources/{s}", f"/api/v1/knowledge/documents/{d}"):
        assert mona_on_dearborn.get(url).status_code == 404, url
    accept = mona_on_dearborn.post(f"/api/v1/knowledge/candidates/{c}/accept", {}, content_type="application/json")
    assert accept.status_code == 404
    assert mona_on_dearborn.get("/api/v1/knowledge/search?q=vpn").json()["hits"] == []

    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    viewer = as_user("bob", "hartwell")
    for url in reads:
        assert viewer.get(url).status_code == 200, url
    for url in writes:
        assert viewer.post(url, {}, content_type="application/json").status_code == 403, url
    with tenant_context(hartwell):
        assert KBCandidate.objects.get(pk=c).status == CandidateStatus.PROPOSED
        assert KnowledgeSource.objects.get(pk=s).status == SyncStatus.OK


def test_writes_need_the_csrf_token_with_a_session(hartwell: Any, kb: Any, people: dict[str, Any]) -> None:
    from django.test import Client as HttpClient

    from tests.conftest import HOSTS

    strict = HttpClient(HTTP_HOST=HOSTS["hartwell"], enforce_csrf_checks=True)
    strict.force_login(people["bob"], backend="django.contrib.auth.backends.ModelBackend")
    response = strict.post(f"/api/v1/knowledge/candidates/{kb['candidate'].pk}/reject")
    assert response.status_code == 403


def test_a_candidates_origin_must_be_a_web_address(as_user: Any, hartwell: Any, kb: Any) -> None:
    """Issue 18: a javascript: origin_url was stored and rendered as a link on the candidates page (stored XSS)."""
    bob = as_user("bob", "hartwell")
    for url in ["javascript:alert(document.cookie)", "JavaScript:alert(1)", "data:text/html,<script>", "//evil"]:
        refused = bob.post(
            "/api/v1/knowledge/candidates",
            {"title": "x", "body": "y", "origin_url": url},
            content_type="application/json",
        )
        assert refused.status_code == 400 and "http:// or https://" in refused.content.decode(), url
    ok = bob.post(
        "/api/v1/knowledge/candidates",
        {"title": "Wi-Fi", "body": "Guest SSID.", "origin_url": "https://wiki.example/wifi"},
        content_type="application/json",
    )
    assert ok.status_code == 201 and ok.json()["origin_url"] == "https://wiki.example/wifi"
    with tenant_context(hartwell):  # Gaby's own pages are a path on this site
        own = propose_candidate(
            title="From an investigation", body="b", origin_kind="investigation", origin_url="/investigations/1/"
        )
        assert own.origin_url == "/investigations/1/"
    with tenant_context(hartwell):
        KBCandidate.objects.filter(pk=ok.json()["id"]).update(origin_url="javascript:alert(1)")  # an old row
    page = as_user("alice", "hartwell").get("/knowledge/candidates/").content.decode()
    assert "Wi-Fi" in page and "javascript:" not in page
