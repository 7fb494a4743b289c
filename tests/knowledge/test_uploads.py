"""Uploading files in the UI: stored, indexed as the client's "Uploaded files" source; PDF text is extracted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from apps.knowledge.extract import extract
from apps.knowledge.models import Document, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.retrieval import search
from apps.knowledge.services import delete_source, sync_now

pytestmark = pytest.mark.django_db


def tiny_pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF with ``lines`` of text (Helvetica), built by hand."""
    content = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_is_extracted_under_page_headings() -> None:
    extracted = extract("policy.pdf", tiny_pdf(["Badge policy", "Lost badges are blocked within one hour."]))
    assert extracted.title == "Policy"
    assert extracted.text.startswith("## Page 1\n\nBadge policy")
    assert "Lost badges are blocked within one hour." in extracted.text


def test_upload_indexes_files_and_rejects_unsupported_ones(
    as_user: Any, hartwell: Any, settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    bob = as_user("bob", "hartwell")
    files = [
        SimpleUploadedFile("badge policy.pdf", tiny_pdf(["Badge policy", "Lost badges are blocked within one hour."])),
        SimpleUploadedFile("wifi.md", b"# Wi-Fi\n\nVisitors use the guest network.\n"),
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = bob.post("/knowledge/sources/upload/", {"files": files}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Uploaded badge_policy.pdf, wifi.md: indexing now" in response.content
    with tenant_context(hartwell):
        source = KnowledgeSource.objects.get(kind=SourceKind.UPLOAD)
        assert source.status == SyncStatus.QUEUED
        assert sorted(p.name for p in Path(source.location).iterdir()) == ["badge_policy.pdf", "wifi.md"]
        report = sync_now(source=source)
        assert report.added == 2 and report.failed == 0
        hit = search("what happens when a badge is lost").hits[0]
        assert hit.citation.uri == "badge_policy.pdf" and hit.citation.heading_path == ["Page 1"]

    bad = bob.post(
        "/knowledge/sources/upload/", {"files": [SimpleUploadedFile("run.exe", b"MZ")]}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400 and b"upload Markdown, text, HTML or PDF" in bad.content
    assert bob.post("/knowledge/sources/upload/", {}, HTTP_HX_REQUEST="true").status_code == 400

    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=True):
        folder = Path(source.location)
        delete_source(source=KnowledgeSource.objects.get(pk=source.pk))
        assert not Document.objects.exists()
    assert not folder.exists()  # removed once the deletion committed


def test_viewers_and_other_clients_cannot_upload(as_user: Any, hartwell: Any, people: dict[str, Any]) -> None:
    from apps.accounts.models import Membership, Role

    upload = {"files": [SimpleUploadedFile("a.md", b"# A\n\ntext\n")]}
    assert as_user("carol", "hartwell").post("/knowledge/sources/upload/", upload).status_code == 403
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    upload = {"files": [SimpleUploadedFile("a.md", b"# A\n\ntext\n")]}
    assert as_user("bob", "hartwell").post("/knowledge/sources/upload/", upload).status_code == 403
    with tenant_context(hartwell):
        assert not KnowledgeSource.objects.filter(kind=SourceKind.UPLOAD).exists()
