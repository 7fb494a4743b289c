"""KB health (KB-6): stale documents and near-duplicates, in the current client's schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.knowledge.models import Document


def stale_documents(*, days: int | None = None) -> QuerySet[Document]:
    """Live documents not used (retrieved or cited) or not modified for ``days`` (default 6 months)."""
    cutoff = timezone.now() - timedelta(days=days or settings.KNOWLEDGE_STALE_DAYS)
    unused = Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
    untouched = Q(last_modified__lt=cutoff)
    return (
        Document.objects.filter(deleted_at__isnull=True)
        .filter(unused | untouched)
        .select_related("source")
        .order_by("last_used_at", "last_modified")
    )


@dataclass(frozen=True)
class DuplicatePair:
    first_id: UUID
    first_title: str
    second_id: UUID
    second_title: str
    similarity: float
    identical: bool


def near_duplicates(*, threshold: float | None = None, limit: int = 50) -> list[DuplicatePair]:
    """Document pairs whose mean chunk embeddings are at least ``threshold`` cosine-similar.

    Documents with identical content hashes are always reported (similarity 1).
    """
    threshold = settings.KNOWLEDGE_DUPLICATE_SIMILARITY if threshold is None else threshold
    sql = """
        WITH doc AS (
            SELECT d.id, d.title, d.content_hash, avg(c.embedding) AS v
            FROM knowledge_document d JOIN knowledge_chunk c ON c.document_id = d.id
            WHERE d.deleted_at IS NULL AND c.embedding IS NOT NULL
            GROUP BY d.id
        )
        SELECT a.id, a.title, b.id, b.title, 1 - (a.v <=> b.v) AS similarity, a.content_hash = b.content_hash
        FROM doc a JOIN doc b ON a.id < b.id
        WHERE a.content_hash = b.content_hash OR 1 - (a.v <=> b.v) >= %s
        ORDER BY similarity DESC, a.id, b.id
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [threshold, limit])
        return [
            DuplicatePair(row[0], row[1], row[2], row[3], round(float(row[4]), 4), bool(row[5]))
            for row in cursor.fetchall()
        ]
