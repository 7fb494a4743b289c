"""The incremental ingestion pipeline shared by every kind of source (KB-1, KB-3).

For each entry a reader yields: hash the bytes; an unchanged document whose chunks already carry
vectors of the current model is skipped outright. A changed one is extracted and chunked; each
chunk's hash covers exactly what gets embedded (title, heading path and text), so an edit
re-embeds only the chunks it touched: unchanged chunks keep their rows and vectors, identical
text elsewhere in the client comes from the embedding cache, and chunks no longer present are
deleted. Documents gone from the source are soft-deleted and their chunks removed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.knowledge.chunking import chunk_text
from apps.knowledge.embedding_cache import vectors_for
from apps.knowledge.embeddings import EmbeddingProvider, Vector, get_provider
from apps.knowledge.extract import ExtractionError, extract
from apps.knowledge.models import Chunk, Document, KnowledgeSource
from apps.knowledge.readers import Entry, reader_for

log = structlog.get_logger(__name__)

ProgressCallback = Callable[[int, int], None]  # (documents done, documents total)


@dataclass
class SyncReport:
    documents_seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_removed: int = 0

    def summary(self) -> str:
        return (
            f"{self.documents_seen} documents: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deleted} removed, {self.failed} unreadable; "
            f"{self.chunks_embedded} chunks embedded"
        )


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def sync_source(
    source: KnowledgeSource, *, provider: EmbeddingProvider | None = None, on_progress: ProgressCallback | None = None
) -> SyncReport:
    """Bring ``source``'s documents and chunks in line with what the source holds now."""
    provider = provider or get_provider()
    entries = list(reader_for(source).entries())
    report = SyncReport(documents_seen=len(entries))
    if on_progress:
        on_progress(0, len(entries))
    existing = {doc.uri: doc for doc in Document.objects.filter(source=source).defer("embedding")}
    needs_vectors = _documents_needing_vectors(source, provider)
    seen: set[str] = set()
    for done, entry in enumerate(entries, start=1):
        seen.add(entry.uri)
        document = existing.get(entry.uri)
        force = document is not None and document.pk in needs_vectors
        try:
            index_entry(source, entry, document, provider=provider, report=report, force=force)
        except Exception as exc:  # one poisoned file never fails its source: it is kept with its error
            log.warning("knowledge_entry_failed", source=str(source.pk), uri=entry.uri, error=repr(exc)[:500])
            report.failed += 1
            _quarantine(
                source,
                entry,
                document,
                content_hash="",
                error=f"Could not index it: {type(exc).__name__}: {str(exc).replace(chr(0), '')}",
            )
        if on_progress:
            on_progress(done, len(entries))
    gone = [doc.pk for uri, doc in existing.items() if uri not in seen and doc.deleted_at is None]
    if gone:
        with transaction.atomic():
            report.chunks_removed += Chunk.objects.filter(document_id__in=gone).delete()[0]
            report.deleted = Document.objects.filter(pk__in=gone).update(deleted_at=timezone.now(), embedding=None)
    return report


def _documents_needing_vectors(source: KnowledgeSource, provider: EmbeddingProvider) -> set[object]:
    """Documents with chunks lacking a vector of the current model (the provider changed)."""
    if not provider.enabled:
        return set()
    stale = Chunk.objects.filter(source=source).filter(Q(embedding__isnull=True) | ~Q(embedding_model=provider.model))
    return set(stale.values_list("document_id", flat=True).distinct())


def _quarantine(
    source: KnowledgeSource, entry: Entry, document: Document | None, *, content_hash: str, error: str
) -> None:
    """Keep an unreadable file visible with its error; its previous chunks no longer describe it."""
    with transaction.atomic():
        if document is None:
            document = Document(source=source, uri=entry.uri)
        else:
            document.chunks.all().delete()
        document.title = entry.title or entry.name
        document.source_url = entry.source_url
        document.content_hash = content_hash
        document.last_modified = entry.last_modified
        document.deleted_at = None
        document.error = error[:2000]
        document.indexed_at = timezone.now()
        document.embedding = None
        document.save()


def index_entry(
    source: KnowledgeSource,
    entry: Entry,
    document: Document | None,
    *,
    provider: EmbeddingProvider,
    report: SyncReport,
    force: bool = False,
) -> Document | None:
    if (
        entry.trust_last_modified
        and not force
        and document is not None
        and document.deleted_at is None
        and not document.error
        and entry.last_modified is not None
        and document.last_modified == entry.last_modified
    ):
        report.unchanged += 1
        return document
    try:
        data = entry.read()
    except OSError as exc:
        report.failed += 1
        _quarantine(source, entry, document, content_hash="", error=f"Could not read the file: {exc.strerror or exc}")
        return None
    content_hash = sha256(data)
    if len(data) > settings.KNOWLEDGE_MAX_FILE_BYTES:
        report.failed += 1
        limit_mb = settings.KNOWLEDGE_MAX_FILE_BYTES // (1024 * 1024)
        _quarantine(source, entry, document, content_hash=content_hash, error=f"Larger than {limit_mb} MB: skipped.")
        return None
    unchanged = (
        document is not None
        and document.content_hash == content_hash
        and document.deleted_at is None
        and not document.error
    )
    if unchanged and not force:
        report.unchanged += 1
        assert document is not None
        if entry.last_modified and document.last_modified != entry.last_modified:
            Document.objects.filter(pk=document.pk).update(last_modified=entry.last_modified)
        return document
    try:
        extracted = extract(entry.name, data, content_type=entry.content_type)
    except ExtractionError as exc:
        report.failed += 1
        _quarantine(source, entry, document, content_hash=content_hash, error=str(exc))
        return None
    title = (entry.title or extracted.title)[:500]
    drafts = chunk_text(extracted.text, markdown=extracted.markdown, max_tokens=settings.KNOWLEDGE_CHUNK_TOKENS)
    inputs = [draft.embedding_input(title) for draft in drafts]
    hashes = [sha256(text) for text in inputs]

    old_chunks = list(document.chunks.all()) if document is not None else []
    known: dict[str, Vector] = {
        c.content_hash: [float(x) for x in c.embedding]
        for c in old_chunks
        if c.embedding is not None and c.embedding_model == provider.model
    }
    vectors, embedded = vectors_for(provider, dict(zip(hashes, inputs, strict=True)), known=known)
    report.chunks_embedded += embedded

    with transaction.atomic():
        is_new = document is None or document.deleted_at is not None
        if document is None:
            document = Document(source=source, uri=entry.uri)
        document.title = title
        document.tags = list(extracted.tags)
        document.source_url = entry.source_url
        document.content_hash = content_hash
        document.last_modified = entry.last_modified or timezone.now()
        document.deleted_at = None
        document.error = ""
        document.indexed_at = timezone.now()
        document.save()

        old_ids = {c.pk for c in old_chunks}
        reusable: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in old_chunks:
            reusable[chunk.content_hash].append(chunk)
        to_create: list[Chunk] = []
        to_update: list[Chunk] = []
        for draft, hash_ in zip(drafts, hashes, strict=True):
            chunk = reusable[hash_].pop() if reusable[hash_] else Chunk(document=document, source=source)
            chunk.ordinal = draft.ordinal
            chunk.heading_path = [h[:300] for h in draft.heading_path]
            chunk.line_start = draft.line_start
            chunk.line_end = draft.line_end
            chunk.text = draft.text
            chunk.content_hash = hash_
            chunk.token_count = draft.token_count
            if hash_ in vectors:
                chunk.embedding = vectors[hash_]
                chunk.embedding_model = provider.model
            (to_update if chunk.pk in old_ids else to_create).append(chunk)
        leftovers = [c.pk for pool in reusable.values() for c in pool]
        if leftovers:
            report.chunks_removed += Chunk.objects.filter(pk__in=leftovers).delete()[0]
        Chunk.objects.bulk_update(
            to_update,
            [
                "ordinal",
                "heading_path",
                "line_start",
                "line_end",
                "text",
                "token_count",
                "embedding",
                "embedding_model",
            ],
        )
        Chunk.objects.bulk_create(to_create)
        _index_document(document)
    report.chunks_written += len(to_create)
    if is_new:
        report.added += 1
    else:
        report.updated += 1
    return document


def _index_document(document: Document) -> None:
    """Full-text vectors: title and headings weigh more (A) than the passage (B); the document's mean vector."""
    config = settings.KNOWLEDGE_SEARCH_CONFIG
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_chunk SET search = "
            "setweight(to_tsvector(%s::regconfig, %s || ' ' || array_to_string(heading_path, ' ')), 'A') || "
            "setweight(to_tsvector(%s::regconfig, text), 'B') WHERE document_id = %s",
            [config, document.title, config, document.pk],
        )
        cursor.execute(
            "UPDATE knowledge_document SET embedding = (SELECT avg(embedding) FROM knowledge_chunk "
            "WHERE document_id = %s AND embedding IS NOT NULL) WHERE id = %s",
            [document.pk, document.pk],
        )
