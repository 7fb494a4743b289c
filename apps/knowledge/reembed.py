"""Re-embedding after a change of embedding backend or model (KB-3), with live progress.

Every vector is stored with its model's name; search only compares vectors of the current model.
Choosing another backend (the settings page or ``gaby kb-embeddings``, both through
``services.set_embedding_backend``) queues one re-embed job for the client: the worker claims it
with a conditional UPDATE, then embeds, batch by batch, exactly the chunks whose vector is missing
or of another model, through the embedding cache (switching back to an earlier model embeds
nothing). Sources are not re-read. Progress is pushed to the settings page like a sync's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.live import pages_open
from apps.core.tasks import enqueue
from apps.knowledge.embedding_cache import vectors_for
from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.knowledge.live import broadcast_html
from apps.knowledge.models import Chunk, EmbeddingSettings, SyncStatus
from apps.knowledge.tenancy import current_schema

log = logging.getLogger(__name__)

BATCH = 256
IDLE_STATES = (SyncStatus.IDLE, SyncStatus.OK, SyncStatus.FAILED)
STALLED_AFTER = timedelta(minutes=30)


@dataclass(frozen=True)
class ModelCount:
    model: str  # "" for chunks without a vector
    chunks: int
    current: bool


def stale_chunks(provider: EmbeddingProvider) -> QuerySet[Chunk]:
    """Chunks that lack a vector of ``provider``'s model (none when embeddings are off)."""
    if not provider.enabled:
        return Chunk.objects.none()
    return Chunk.objects.filter(Q(embedding__isnull=True) | ~Q(embedding_model=provider.model))


def model_counts(provider: EmbeddingProvider) -> list[ModelCount]:
    """How many chunks carry a vector of each model ("": none), the current model first, in one scan.

    The chunks of every row that is not ``current`` are what ``stale_chunks`` would re-embed."""
    rows = (
        Chunk.objects.values("embedding_model")
        .annotate(chunks=Count("id"), vectors=Count("id", filter=Q(embedding__isnull=False)))
        .order_by()
    )
    counts: dict[str, int] = {}
    for row in rows:
        for model, n in ((row["embedding_model"], row["vectors"]), ("", row["chunks"] - row["vectors"])):
            if n:
                counts[model] = counts.get(model, 0) + n
    ordered = sorted(counts.items(), key=lambda item: (item[0] != provider.model, item[0] == "", item[0]))
    return [ModelCount(model=m, chunks=n, current=provider.enabled and m == provider.model) for m, n in ordered]


def settings_row() -> EmbeddingSettings:
    row = EmbeddingSettings.objects.one()
    return row


def request_reembed() -> bool:
    """Queue the client's re-embed job on the worker; False if one is already queued or running."""
    row = settings_row()
    with transaction.atomic():
        queued = (
            EmbeddingSettings.objects.filter(pk=row.pk, reembed_status__in=IDLE_STATES).update(
                reembed_status=SyncStatus.QUEUED, reembed_error="", reembed_done=0, reembed_total=0
            )
            == 1
        )
        if queued:
            schema = current_schema()

            def send() -> None:
                with schema_context(schema):  # the task runs in this client's schema
                    enqueue("knowledge.reembed")

            transaction.on_commit(send)
    broadcast_progress()
    return queued


def run_queued_reembed(*, provider: EmbeddingProvider | None = None) -> int | None:
    """The worker's half: claim the queued job and re-embed; None if there was none to claim."""
    EmbeddingSettings.objects.filter(
        reembed_status=SyncStatus.RUNNING, reembed_heartbeat_at__lt=timezone.now() - STALLED_AFTER
    ).update(reembed_status=SyncStatus.QUEUED)  # a job whose worker died is taken over
    claimed = EmbeddingSettings.objects.filter(singleton=True, reembed_status=SyncStatus.QUEUED).update(
        reembed_status=SyncStatus.RUNNING, reembed_heartbeat_at=timezone.now()
    )
    if claimed != 1:
        return None
    try:
        embedded = reembed(provider=provider or get_provider())
    except OperationalError:
        _update(reembed_status=SyncStatus.QUEUED)  # transient: the task's retry claims it again
        raise
    except Exception as exc:
        log.exception("knowledge re-embed failed")
        _update(reembed_status=SyncStatus.FAILED, reembed_error=f"{exc.__class__.__name__}: {exc}"[:4000])
        raise
    _update(reembed_status=SyncStatus.OK, reembed_finished_at=timezone.now())
    return embedded


def reembed(*, provider: EmbeddingProvider) -> int:
    """Give every chunk a vector of ``provider``'s model; returns how many texts the model embedded."""
    pending = stale_chunks(provider)
    total = pending.count()
    _update(reembed_total=total, reembed_done=0, reembed_heartbeat_at=timezone.now())
    done = embedded = 0
    last_id = None
    while True:
        batch_query = pending.select_related("document").defer("embedding", "search", "document__embedding")
        if last_id is not None:
            batch_query = batch_query.filter(pk__gt=last_id)
        batch = list(batch_query.order_by("pk")[:BATCH])
        if not batch:
            break
        last_id = batch[-1].pk
        texts = {c.content_hash: embedding_input(c) for c in batch}
        vectors, fresh = vectors_for(provider, texts)
        embedded += fresh
        with transaction.atomic():
            for chunk in batch:
                chunk.embedding = vectors[chunk.content_hash]
                chunk.embedding_model = provider.model
            Chunk.objects.bulk_update(batch, ["embedding", "embedding_model"])
            _refresh_document_vectors({c.document_id for c in batch})
        done += len(batch)
        _update(reembed_done=min(done, total), reembed_heartbeat_at=timezone.now())
    return embedded


def embedding_input(chunk: Chunk) -> str:
    """The text ingestion embedded for this chunk (chunking.Draft.embedding_input), whose hash the chunk keeps."""
    context = " > ".join([chunk.document.title, *chunk.heading_path])
    return f"{context}\n\n{chunk.text}" if context else chunk.text


def _refresh_document_vectors(document_ids: set[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_document d SET embedding = (SELECT avg(embedding) FROM knowledge_chunk c "
            "WHERE c.document_id = d.id AND c.embedding IS NOT NULL) WHERE d.id = ANY(%s)",
            [list(document_ids)],
        )


_last_broadcast = {"at": 0.0}


def _update(**fields: object) -> None:
    EmbeddingSettings.objects.filter(singleton=True).update(**fields)
    now = timezone.now().timestamp()
    status = fields.get("reembed_status")
    if status is not None or now - _last_broadcast["at"] >= 0.5:
        _last_broadcast["at"] = now
        broadcast_progress()


def progress_html(row: EmbeddingSettings) -> str:
    return render_to_string("knowledge/embeddings.html#reembed-progress", {"settings_row": row})


def broadcast_progress() -> None:
    if not pages_open():
        return
    row = EmbeddingSettings.objects.existing()
    if row is not None:
        broadcast_html("#reembed-progress", progress_html(row))
