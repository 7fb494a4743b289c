"""Directory ingestion, incremental re-sync (KB-3) and quarantined files, on the real database and model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.knowledge.models import Chunk, Document, EmbeddingCacheEntry, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.services import create_source, sync_now

pytestmark = pytest.mark.django_db


def _source(path: Path) -> KnowledgeSource:
    return create_source(kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(path)}, server_paths=True)


def test_first_sync_indexes_every_format_with_vectors_and_text(in_hartwell: Any, runbooks: Path, provider: Any) -> None:
    source = _source(runbooks)
    before = provider.texts_embedded
    report = sync_now(source=source)
    assert report.added == 4 and report.failed == 0
    chunks = Chunk.objects.filter(source=source)
    assert chunks.count() == report.chunks_written == provider.texts_embedded - before
    assert not chunks.filter(embedding__isnull=True).exists()
    assert set(chunks.values_list("embedding_model", flat=True)) == {provider.model}
    assert not chunks.filter(search__isnull=True).exists()
    html = Document.objects.get(uri="onboarding.html")
    assert html.title == "New hire onboarding"
    laptop = html.chunks.get(heading_path=["New hire onboarding", "Laptop"])
    assert "- Enrol the laptop in Intune." in laptop.text and "tracking" not in laptop.text
    source.refresh_from_db()
    assert source.status == SyncStatus.OK and source.progress_done == source.progress_total == 4
    assert source.chunks_embedded == report.chunks_embedded


def test_second_sync_of_an_unchanged_source_embeds_zero_chunks(in_hartwell: Any, runbooks: Path, provider: Any) -> None:
    source = _source(runbooks)
    sync_now(source=source)
    ids = set(Chunk.objects.filter(source=source).values_list("id", flat=True))
    calls, texts = provider.calls, provider.texts_embedded

    report = sync_now(source=source)

    assert (provider.calls, provider.texts_embedded) == (calls, texts)  # the model was never asked
    assert report.chunks_embedded == 0 and report.unchanged == 4 and report.added == report.updated == 0
    assert set(Chunk.objects.filter(source=source).values_list("id", flat=True)) == ids


def test_an_edit_re_embeds_only_the_changed_chunk_and_deletions_disappear(
    in_hartwell: Any, runbooks: Path, provider: Any
) -> None:
    source = _source(runbooks)
    sync_now(source=source)
    vpn = Document.objects.get(uri="vpn.md")
    kept = vpn.chunks.get(heading_path=["VPN runbook", "Reset a user's VPN password"])
    vpn_path = runbooks / "vpn.md"
    vpn_path.write_text(vpn_path.read_text().replace("24 hours", "48 hours"), encoding="utf-8")
    (runbooks / "email.txt").unlink()
    texts = provider.texts_embedded

    report = sync_now(source=source)

    assert provider.texts_embedded - texts == 1 == report.chunks_embedded
    assert report.updated == 1 and report.deleted == 1 and report.unchanged == 2
    assert vpn.chunks.filter(pk=kept.pk).exists()  # the untouched section kept its row and vector
    assert "48 hours" in vpn.chunks.get(heading_path=["VPN runbook", "Tunnel drops every hour"]).text
    email = Document.objects.get(uri="email.txt")
    assert email.deleted_at is not None and not email.chunks.exists()

    (runbooks / "email.txt").write_text(RESTORED, encoding="utf-8")
    texts = provider.texts_embedded
    report = sync_now(source=source)
    # Restored text comes back from the embedding cache: nothing to embed.
    assert report.added == 1 and provider.texts_embedded == texts
    assert Document.objects.get(uri="email.txt").deleted_at is None


RESTORED = (
    "Mailbox full\n\nWhen Outlook says the mailbox is full, archive items older than one year with AutoArchive.\n"
)


def test_identical_text_in_another_source_reuses_the_cached_vector(
    in_hartwell: Any, runbooks: Path, tmp_path: Path, provider: Any
) -> None:
    sync_now(source=_source(runbooks))
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "printers").mkdir()
    (copy / "printers" / "paper-jam.md").write_bytes((runbooks / "printers" / "paper-jam.md").read_bytes())
    texts = provider.texts_embedded
    other = create_source(kind=SourceKind.DIRECTORY, name="Copy", config={"path": str(copy)}, server_paths=True)
    report = sync_now(source=other)
    assert report.added == 1 and report.chunks_embedded == 0 and provider.texts_embedded == texts
    distinct_texts = Chunk.objects.values("content_hash").distinct().count()
    assert EmbeddingCacheEntry.objects.filter(model=provider.model).count() == distinct_texts < Chunk.objects.count()


def test_a_model_change_re_embeds(in_hartwell: Any, runbooks: Path, provider: Any) -> None:
    source = _source(runbooks)
    sync_now(source=source)
    Chunk.objects.filter(source=source, document__uri="vpn.md").update(embedding_model="old-model")
    EmbeddingCacheEntry.objects.all().delete()
    texts = provider.texts_embedded
    report = sync_now(source=source)
    vpn_chunks = Chunk.objects.filter(document__uri="vpn.md")
    assert report.chunks_embedded == vpn_chunks.count() == provider.texts_embedded - texts
    assert set(vpn_chunks.values_list("embedding_model", flat=True)) == {provider.model}


def test_full_text_only_mode_indexes_without_vectors(in_hartwell: Any, runbooks: Path) -> None:
    from apps.knowledge.embeddings import provider_for

    none = provider_for("none")
    source = _source(runbooks)
    report = sync_now(source=source, provider=none)
    assert report.added == 4 and report.chunks_embedded == 0
    assert not Chunk.objects.filter(embedding__isnull=False).exists()
    assert not Chunk.objects.filter(search__isnull=True).exists()


def test_an_unreadable_file_is_kept_with_its_error(in_hartwell: Any, runbooks: Path) -> None:
    (runbooks / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    source = _source(runbooks)
    report = sync_now(source=source)
    assert report.failed == 1 and report.added == 4
    broken = Document.objects.get(uri="broken.pdf")
    assert "not a readable PDF" in broken.error and not broken.chunks.exists()


def test_a_missing_directory_fails_the_sync_with_a_clear_error(in_hartwell: Any, runbooks: Path) -> None:
    from apps.knowledge.readers import ReaderError

    source = _source(runbooks)
    KnowledgeSource.objects.filter(pk=source.pk).update(config={"path": str(runbooks / "gone")})
    source.refresh_from_db()
    with pytest.raises(ReaderError):
        sync_now(source=source)
    source.refresh_from_db()
    assert source.status == SyncStatus.FAILED and "is not a readable directory" in source.last_error


def test_a_sync_whose_worker_died_is_failed_and_can_be_started_again(
    in_hartwell: Any, runbooks: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.knowledge.services import fail_stalled_syncs, request_sync

    source = _source(runbooks)
    KnowledgeSource.objects.filter(pk=source.pk).update(
        status=SyncStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert fail_stalled_syncs() == 0  # slow is not dead
    with django_capture_on_commit_callbacks(execute=False):
        assert request_sync(source=source) is False
    KnowledgeSource.objects.filter(pk=source.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert fail_stalled_syncs() == 1
    source.refresh_from_db()
    assert source.status == SyncStatus.FAILED and "stopped making progress" in source.last_error
    with django_capture_on_commit_callbacks(execute=False):
        assert request_sync(source=source) is True


def _bomb_pdf() -> bytes:
    """~100 KB on disk, 100 MB of page content once decompressed (past pypdf's limit)."""
    import io
    import zlib

    stream = zlib.compress(b"BT /F1 12 Tf 10 10 Td (" + b"A" * 100_000_000 + b") Tj ET", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, io.SEEK_END)
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_poisoned_files_are_kept_with_their_error_and_the_sync_goes_on(in_hartwell: Any, runbooks: Path) -> None:
    """Issue 18: a decompression bomb, a NUL byte and a YAML alias bomb each broke the whole source or the worker."""
    (runbooks / "bomb.pdf").write_bytes(_bomb_pdf())
    (runbooks / "nul.md").write_bytes(b"# VPN\x00 notes\n\nReset the token\x00 from the portal.\n")
    aliases = "".join(f"l{n}: &l{n} [*l{n - 1}, *l{n - 1}, *l{n - 1}, *l{n - 1}, *l{n - 1}]\n" for n in range(1, 12))
    (runbooks / "laughs.md").write_text(f"---\nl0: &l0 [x]\n{aliases}tags: *l11\n---\n# Laughs\n\nStill text.\n")
    report = sync_now(source=_source(runbooks))
    assert report.failed == 1 and report.added == 6  # the four runbooks, the NUL file and the alias file
    bomb = Document.objects.get(uri="bomb.pdf")
    assert "no extractable text" in bomb.error and not bomb.chunks.exists()
    nul = Document.objects.get(uri="nul.md")
    assert (
        nul.error == ""
        and nul.title == "VPN notes"
        and "\x00" not in "".join(nul.chunks.values_list("text", flat=True))
    )
    laughs = Document.objects.get(uri="laughs.md")
    assert laughs.error == "" and list(laughs.tags) == [] and laughs.chunks.exists()  # indexed as written, no tags
