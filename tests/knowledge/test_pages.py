"""Operator pages: sources with "sync now", documents, search playground, health, candidates; roles and ownership."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Role
from apps.knowledge.candidates import propose_candidate
from apps.knowledge.models import CandidateStatus, Document, KBCandidate, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.services import create_source, sync_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def hartwell_kb(hartwell: Any, runbooks: Path) -> dict[str, Any]:
    with tenant_context(hartwell):
        source = create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
        sync_now(source=source)
        candidate = propose_candidate(title="Printer toner", body="Replace toner cartridge.", origin_kind="correction")
        document = Document.objects.get(uri="vpn.md")
    return {"source": source, "candidate": candidate, "document": document}


def _knowledge_urls(kb: dict[str, Any]) -> tuple[list[str], list[str]]:
    s, c, d = kb["source"].pk, kb["candidate"].pk, kb["document"].pk
    reads = [
        "/knowledge/",
        "/knowledge/documents/",
        f"/knowledge/documents/{d}/",
        "/knowledge/search/?q=vpn",
        "/knowledge/health/",
        "/knowledge/candidates/",
    ]
    writes = [
        "/knowledge/sources/new/",
        f"/knowledge/sources/{s}/sync/",
        f"/knowledge/sources/{s}/delete/",
        "/knowledge/candidates/new/",
        f"/knowledge/candidates/{c}/save/",
        f"/knowledge/candidates/{c}/accept/",
        f"/knowledge/candidates/{c}/reject/",
    ]
    return reads, writes


def test_carol_gets_403_on_every_hartwell_knowledge_url(as_user: Any, hartwell: Any, hartwell_kb: Any) -> None:
    carol = as_user("carol", "hartwell")
    reads, writes = _knowledge_urls(hartwell_kb)
    for url in reads + writes:
        assert carol.get(url).status_code == 403, url
        assert carol.post(url, {"title": "x", "body": "y", "kind": "directory", "name": "n"}).status_code == 403, url
    with tenant_context(hartwell):
        assert KnowledgeSource.objects.get(pk=hartwell_kb["source"].pk).status == SyncStatus.OK
        assert KBCandidate.objects.get(pk=hartwell_kb["candidate"].pk).status == CandidateStatus.PROPOSED


def test_hartwell_ids_are_not_found_on_dearborns_domain(as_user: Any, hartwell_kb: Any) -> None:
    mona = as_user("mona", "dearborn")  # Admin of both, acting on Dearborn's domain
    reads, writes = _knowledge_urls(hartwell_kb)
    for url in reads:
        if any(str(o.pk) in url for o in hartwell_kb.values()):
            assert mona.get(url).status_code == 404, url
    for url in writes:
        if "/new/" in url:
            continue
        assert mona.post(url, {"title": "x", "body": "y"}).status_code == 404, url


def test_viewer_reads_every_page_and_writes_nothing(
    as_user: Any, hartwell: Any, hartwell_kb: Any, people: dict[str, Any]
) -> None:
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    bob = as_user("bob", "hartwell")
    reads, writes = _knowledge_urls(hartwell_kb)
    for url in reads:
        response = bob.get(url)
        assert response.status_code == 200, url
        assert b'data-testid="sync-runbooks"' not in response.content
    for url in writes:
        assert bob.post(url, {"title": "x", "body": "y"}).status_code == 403, url


def test_agent_syncs_but_only_admin_adds_sources(
    as_user: Any, hartwell: Any, hartwell_kb: Any, runbooks: Path, django_capture_on_commit_callbacks: Any
) -> None:
    bob = as_user("bob", "hartwell")
    form = {"kind": "directory", "name": "More", "path": str(runbooks)}
    assert bob.post("/knowledge/sources/new/", form).status_code == 403
    source = hartwell_kb["source"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = bob.post(f"/knowledge/sources/{source.pk}/sync/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Sync of Runbooks queued" in response.content
    assert len(callbacks) == 1  # the task is sent once the transaction commits
    with tenant_context(hartwell):
        assert KnowledgeSource.objects.get(pk=source.pk).status == SyncStatus.QUEUED
    again = bob.post(f"/knowledge/sources/{source.pk}/sync/", HTTP_HX_REQUEST="true")
    assert b"already queued or syncing" in again.content

    # A client's Admin adds sources, but not folders or repositories on the Gaby server's disk (every client's
    # uploads and checkouts live there): only MSP staff may, as only they may start commands for connectors.
    alice = as_user("alice", "hartwell")
    refused = alice.post("/knowledge/sources/new/", form)
    assert refused.status_code == 400 and b"Only MSP staff can index a folder" in refused.content
    local_git = alice.post("/knowledge/sources/new/", {"kind": "git", "name": "Local", "url": str(runbooks)})
    assert local_git.status_code == 400 and b"Only MSP staff can index a repository" in local_git.content
    with tenant_context(hartwell):
        assert not KnowledgeSource.objects.filter(name__in=["More", "Local"]).exists()
    mona = as_user("mona", "hartwell")  # MSP staff, Admin of Hartwell
    bad = mona.post("/knowledge/sources/new/", {"kind": "directory", "name": "Nope", "path": "relative/path"})
    assert bad.status_code == 400 and b"absolute path" in bad.content
    with django_capture_on_commit_callbacks(execute=False):
        ok = mona.post("/knowledge/sources/new/", form)
    assert ok.status_code == 302
    with tenant_context(hartwell):
        assert KnowledgeSource.objects.get(name="More").status == SyncStatus.QUEUED


def test_sources_page_shows_status_and_progress(as_user: Any, hartwell: Any, hartwell_kb: Any) -> None:
    with tenant_context(hartwell):
        KnowledgeSource.objects.filter(pk=hartwell_kb["source"].pk).update(
            status=SyncStatus.RUNNING, progress_done=2, progress_total=4
        )
    body = as_user("bob", "hartwell").get("/knowledge/").content.decode()
    assert f'id="source-status-{hartwell_kb["source"].pk}"' in body
    assert "Syncing · 2/4 documents" in body and '<progress max="4" value="2">' in body


def test_document_browser_and_detail(as_user: Any, hartwell_kb: Any) -> None:
    bob = as_user("bob", "hartwell")
    listing = bob.get("/knowledge/documents/", {"title": "vpn"}, HTTP_HX_REQUEST="true").content.decode()
    assert "VPN runbook" in listing and "Printer paper jam" not in listing and "<html" not in listing
    detail = bob.get(f"/knowledge/documents/{hartwell_kb['document'].pk}/").content.decode()
    assert "Reset a user&#x27;s VPN password" in detail and "lines 5\u20137" in detail


def test_search_playground_shows_hits_with_explanations(as_user: Any, hartwell: Any, hartwell_kb: Any) -> None:
    bob = as_user("bob", "hartwell")
    body = bob.get("/knowledge/search/", {"q": "reset vpn password"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="hit-1"' in body and "VPN runbook" in body
    assert '<span class="kb-term">reset</span>' in body and "Fused score" in body and "similarity" in body
    with tenant_context(hartwell):  # trying queries out is not usage
        assert Document.objects.get(uri="vpn.md").retrieved_count == 0
    assert bob.get("/knowledge/search/", {"q": "x" * 1001}).status_code == 400


def test_health_lists_stale_documents_and_duplicates(
    as_user: Any, hartwell: Any, hartwell_kb: Any, tmp_path: Path
) -> None:
    with tenant_context(hartwell):
        old = timezone.now() - timedelta(days=400)
        Document.objects.filter(uri="email.txt").update(last_modified=old)
        copy = tmp_path / "copy"
        copy.mkdir()
        (copy / "vpn-copy.md").write_text((Path(hartwell_kb["source"].config["path"]) / "vpn.md").read_text())
        sync_now(
            source=create_source(kind=SourceKind.DIRECTORY, name="Copy", config={"path": str(copy)}, server_paths=True)
        )
    body = as_user("bob", "hartwell").get("/knowledge/health/").content.decode()
    assert 'data-testid="stale-emailtxt"' in body and 'data-testid="stale-vpnmd"' not in body
    assert 'data-testid="duplicate-1"' in body and "identical" in body
    shorter = as_user("bob", "hartwell").get("/knowledge/health/", {"days": "1"}).content.decode()
    assert 'data-testid="stale-vpnmd"' not in shorter  # created today and modified today


def test_candidate_review_accept_indexes_it_citing_its_origin(
    as_user: Any, hartwell: Any, hartwell_kb: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.knowledge.retrieval import search

    bob = as_user("bob", "hartwell")
    candidate = hartwell_kb["candidate"]
    page = bob.get("/knowledge/candidates/").content.decode()
    assert f'data-testid="accept-{candidate.pk}"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = bob.post(
            f"/knowledge/candidates/{candidate.pk}/accept/",
            {"title": "Printer toner replacement", "body": "Open the front cover and replace the toner cartridge."},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200 and b"Accepted" in response.content
    with tenant_context(hartwell):
        candidate.refresh_from_db()
        assert candidate.status == CandidateStatus.ACCEPTED and candidate.reviewer == as_user_pk(bob)
        curated = KnowledgeSource.objects.get(kind=SourceKind.CURATED)
        assert curated.status == SyncStatus.QUEUED
        sync_now(source=curated)
        hit = search("how to replace the toner cartridge").hits[0]
        assert hit.citation.document_title == "Printer toner replacement"
        assert "Origin: Operator correction" in Document.objects.get(pk=hit.citation.document_id).chunks.get().text
    again = bob.post(f"/knowledge/candidates/{candidate.pk}/reject/", HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and b"already accepted" in again.content


def as_user_pk(client: Any) -> Any:
    from uuid import UUID

    from django.contrib.auth import SESSION_KEY

    return UUID(client.session[SESSION_KEY])


def test_candidates_are_proposed_edited_rejected_and_expire(as_user: Any, hartwell: Any, settings: Any) -> None:
    bob = as_user("bob", "hartwell")
    assert bob.post("/knowledge/candidates/new/", {"title": "", "body": "x"}).status_code == 400
    assert bob.post("/knowledge/candidates/new/", {"title": "Wi-Fi", "body": "Use the guest SSID."}).status_code == 302
    with tenant_context(hartwell):
        candidate = KBCandidate.objects.get(title="Wi-Fi")
        assert candidate.origin_kind == "manual" and candidate.origin_ref == "bob@hartwell.example"
        assert (candidate.expires_at - timezone.now()).days in (29, 30)
    bob.post(f"/knowledge/candidates/{candidate.pk}/save/", {"title": "Guest Wi-Fi", "body": "Use the guest SSID."})
    bob.post(f"/knowledge/candidates/{candidate.pk}/reject/")
    with tenant_context(hartwell):
        candidate.refresh_from_db()
        assert (candidate.title, candidate.status) == ("Guest Wi-Fi", CandidateStatus.REJECTED)
        from apps.knowledge.candidates import expire_candidates

        stale = propose_candidate(title="Old", body="Old text", origin_kind="investigation", origin_ref="inv-1")
        KBCandidate.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert expire_candidates() == 1
        assert KBCandidate.objects.get(pk=stale.pk).status == CandidateStatus.EXPIRED


def test_a_sync_that_found_nothing_says_so_instead_of_up_to_date(hartwell: Any, as_user: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with tenant_context(hartwell):
        source = create_source(kind=SourceKind.DIRECTORY, name="Empty", config={"path": str(empty)}, server_paths=True)
        sync_now(source=source)
        source.refresh_from_db()
        assert source.status == SyncStatus.OK and source.progress_total == 0
    body = as_user("bob", "hartwell").get("/knowledge/").content.decode()
    assert f'data-testid="source-empty-{source.pk}"' in body and "found nothing to index" in body
