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


NEIGHBOURS = 10  # per document: a document with more near-duplicates than this shows its closest ones

# Parameters: neighbours asked per document (itself included), similarity threshold, pairs shown.
NEAR_DUPLICATES_SQL = """
    WITH near AS (
        SELECT least(a.id, n.id) AS first, greatest(a.id, n.id) AS second
        FROM knowledge_document a
        CROSS JOIN LATERAL (
            SELECT d.id, d.embedding <=> a.embedding AS distance
            FROM knowledge_document d
            WHERE d.embedding IS NOT NULL
            ORDER BY d.embedding <=> a.embedding
            LIMIT %s
        ) n
        WHERE a.embedding IS NOT NULL AND n.id <> a.id AND 1 - n.distance >= %s
    ),
    same AS (
        SELECT a.id AS first, b.id AS second
        FROM knowledge_document a JOIN knowledge_document b ON a.content_hash = b.content_hash AND a.id < b.id
        WHERE a.embedding IS NOT NULL AND b.embedding IS NOT NULL
    ),
    pairs AS (SELECT first, second FROM near UNION SELECT first, second FROM same)
    SELECT f.id, f.title, s.id, s.title, 1 - (f.embedding <=> s.embedding) AS similarity,
           f.content_hash = s.content_hash
    FROM pairs p
    JOIN knowledge_document f ON f.id = p.first
    JOIN knowledge_document s ON s.id = p.second
    WHERE f.deleted_at IS NULL AND s.deleted_at IS NULL
    ORDER BY similarity DESC, f.id, s.id
    LIMIT %s
"""


def near_duplicates(*, threshold: float | None = None, limit: int = 50) -> list[DuplicatePair]:
    """Document pairs whose mean chunk embeddings are at least ``threshold`` cosine-similar.

    Each document asks the HNSW index on ``Document.embedding`` for its nearest neighbours, so the
    check grows with the number of documents, not with the number of pairs. Documents with identical
    content hashes are always reported (similarity 1).
    """
    threshold = settings.KNOWLEDGE_DUPLICATE_SIMILARITY if threshold is None else threshold
    with connection.cursor() as cursor:
        cursor.execute(NEAR_DUPLICATES_SQL, [NEIGHBOURS + 1, threshold, limit])
        return [
            DuplicatePair(row[0], row[1], row[2], row[3], round(float(row[4]), 4), bool(row[5]))
            for row in cursor.fetchall()
        ]
