"""Hybrid retrieval with citations and explanations (KB-4, KB-5, MSP-6).

Two candidate lists come from the current client's schema: PostgreSQL full-text search
(``websearch_to_tsquery``; chunks matching every term rank before chunks matching some, then by
``ts_rank_cd``) and pgvector cosine similarity through the HNSW index. Reciprocal rank fusion
merges them (score = sum of 1 / (60 + rank)). Every hit carries its citation (document, heading
path, lines, source URL) and why it was chosen: the query words it matched, its rank on each side,
its cosine similarity and its fused score. Isolation is structural: the SQL names unqualified
tables, resolved through the client's ``search_path``; no other client's rows are reachable.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import CharField, F, Func
from django.utils import timezone

from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.knowledge.models import Chunk, Document

RRF_K = 60
_WORD = re.compile(r"[\w][\w'.-]*", re.UNICODE)


class QueryError(ValueError):
    """The query cannot be run as given; the message says what to change."""


@dataclass(frozen=True)
class Citation:
    document_id: UUID
    document_title: str
    source_name: str
    uri: str
    heading_path: list[str]
    line_start: int
    line_end: int
    source_url: str

    @property
    def label(self) -> str:
        path = self.heading_path[1:] if self.heading_path[:1] == [self.document_title] else self.heading_path
        section = " > ".join(path)
        where = self.document_title + (f" § {section}" if section else "")
        return f"{where} (lines {self.line_start}-{self.line_end})"


@dataclass(frozen=True)
class Explanation:
    matched_terms: list[str]
    lexical_rank: int | None
    lexical_score: float | None
    semantic_rank: int | None
    semantic_similarity: float | None
    fused_score: float


@dataclass(frozen=True)
class Hit:
    chunk_id: UUID
    text: str
    citation: Citation
    explanation: Explanation


@dataclass
class SearchResult:
    query: str
    mode: str  # hybrid | lexical
    hits: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    source_ids: list[UUID] | None = None
    modified_after: datetime | None = None

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.source_ids:
            clauses.append("c.source_id = ANY(%s)")
            params.append(list(self.source_ids))
        if self.modified_after is not None:
            clauses.append("c.document_id IN (SELECT id FROM knowledge_document WHERE last_modified >= %s)")
            params.append(self.modified_after)
        return "".join(f" AND {c}" for c in clauses), params


def lexical_sql(query: str, filters: Filters, limit: int) -> tuple[str, list[Any]]:
    """The full-text candidate query (also run raw by bench/retrieval.py as its floor)."""
    config = settings.KNOWLEDGE_SEARCH_CONFIG
    where, params = filters.sql()
    # "loose" ORs the query's lexemes so a question still finds passages that lack one of its words;
    # passages matching the strict (all terms, phrases, negations) query rank first.
    sql = f"""
        WITH q AS (
            SELECT websearch_to_tsquery(%s::regconfig, %s) AS strict,
                   (SELECT to_tsquery('simple', string_agg('''' || replace(l, '''', '''''') || '''', ' | '))
                      FROM unnest(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AS l) AS loose
        )
        SELECT c.id, ts_rank_cd(c.search, q.loose, 1) + CASE WHEN c.search @@ q.strict THEN 1 ELSE 0 END AS score
        FROM knowledge_chunk c, q
        WHERE q.loose IS NOT NULL AND c.search @@ q.loose {where}
        ORDER BY score DESC, c.id
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters
    return sql, [config, query, config, query, *params, limit]


def _lexical(query: str, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    sql, params = lexical_sql(query, filters, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def semantic_sql(literal: str, model: str, filters: Filters, limit: int) -> tuple[str, list[Any]]:
    """The vector candidate query (also run raw by bench/retrieval.py as its floor)."""
    where, params = filters.sql()
    sql = f"""
        SELECT c.id, 1 - (c.embedding <=> %s::vector) AS similarity
        FROM knowledge_chunk c
        WHERE c.embedding IS NOT NULL AND c.embedding_model = %s {where}
        ORDER BY c.embedding <=> %s::vector
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters
    return sql, [literal, model, *params, literal, limit]


def ef_search(limit: int) -> int:
    return max(40, limit)


def _semantic(vector: list[float], model: str, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    sql, params = semantic_sql(vector_literal(vector), model, filters, limit)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [ef_search(limit)])
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def _query_lexemes(query: str) -> dict[str, set[str]]:
    """Each word of the query and the lexemes it stems to (stop words stem to nothing)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:64]
    if not words:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w, tsvector_to_array(to_tsvector(%s::regconfig, w)) FROM unnest(%s::text[]) AS w",
            [settings.KNOWLEDGE_SEARCH_CONFIG, words],
        )
        return {word: set(lexemes) for word, lexemes in cursor.fetchall() if lexemes}


def fuse(*ranked: list[UUID], k: int = RRF_K) -> dict[UUID, float]:
    """Reciprocal rank fusion of ranked id lists (rank 1 first)."""
    scores: dict[UUID, float] = {}
    for ids in ranked:
        for rank, chunk_id in enumerate(ids, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return scores


def citation_url(document: Document, line_start: int, line_end: int) -> str:
    url = document.source_url
    if url and "/blob/" in url and "#" not in url:
        plain = "?plain=1" if url.lower().endswith((".md", ".markdown")) else ""
        return f"{url}{plain}#L{line_start}-L{line_end}"
    return url


def search(
    query: str,
    *,
    limit: int = 8,
    filters: Filters | None = None,
    provider: EmbeddingProvider | None = None,
    candidates: int = 50,
    record_usage: bool = True,
) -> SearchResult:
    """The best passages for ``query`` in the current client's knowledge, cited and explained."""
    query = query.strip()
    if not query:
        raise QueryError("Type what you are looking for.")
    if len(query) > 1000:
        raise QueryError("Keep the query under 1000 characters.")
    limit = max(1, min(limit, 50))
    filters = filters or Filters()
    provider = provider or get_provider()
    timings: dict[str, float] = {}

    started = time.perf_counter()
    lexical = _lexical(query, filters, candidates)
    timings["lexical"] = (time.perf_counter() - started) * 1000
    semantic: list[tuple[UUID, float]] = []
    if provider.enabled:
        started = time.perf_counter()
        vector = provider.embed_query(query)
        timings["embed"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        semantic = _semantic(vector or [], provider.model, filters, candidates)
        timings["semantic"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    lexical_rank = {cid: (rank, score) for rank, (cid, score) in enumerate(lexical, start=1)}
    semantic_rank = {cid: (rank, sim) for rank, (cid, sim) in enumerate(semantic, start=1)}
    fused = fuse([cid for cid, _ in lexical], [cid for cid, _ in semantic])
    top = sorted(fused, key=lambda cid: (-fused[cid], str(cid)))[:limit]
    chunks = {
        c.pk: c
        for c in Chunk.objects.filter(pk__in=top)
        .select_related("document", "source")
        .annotate(lexemes=Func(F("search"), function="tsvector_to_array", output_field=ArrayField(CharField())))
    }
    words = _query_lexemes(query)
    result = SearchResult(query=query, mode="hybrid" if provider.enabled else "lexical", timings_ms=timings)
    for cid in top:
        chunk = chunks.get(cid)
        if chunk is None:
            continue  # deleted between the two queries
        lexemes = set(getattr(chunk, "lexemes", None) or [])
        lex = lexical_rank.get(cid)
        sem = semantic_rank.get(cid)
        result.hits.append(
            Hit(
                chunk_id=cid,
                text=chunk.text,
                citation=Citation(
                    document_id=chunk.document.pk,
                    document_title=chunk.document.title,
                    source_name=chunk.source.name,
                    uri=chunk.document.uri,
                    heading_path=list(chunk.heading_path),
                    line_start=chunk.line_start,
                    line_end=chunk.line_end,
                    source_url=citation_url(chunk.document, chunk.line_start, chunk.line_end),
                ),
                explanation=Explanation(
                    matched_terms=[w for w, forms in words.items() if forms & lexemes],
                    lexical_rank=lex[0] if lex else None,
                    lexical_score=round(lex[1], 4) if lex else None,
                    semantic_rank=sem[0] if sem else None,
                    semantic_similarity=round(sem[1], 4) if sem else None,
                    fused_score=round(fused[cid], 5),
                ),
            )
        )
    if record_usage and result.hits:
        Document.objects.filter(pk__in={h.citation.document_id for h in result.hits}).update(
            retrieved_count=F("retrieved_count") + 1, last_used_at=timezone.now()
        )
    timings["fuse"] = (time.perf_counter() - started) * 1000
    return result


def record_citations(*, document_ids: list[UUID]) -> int:
    """The agent cited these documents in an answer (KB-6 usage counters)."""
    return Document.objects.filter(pk__in=document_ids).update(
        cited_count=F("cited_count") + 1, last_used_at=timezone.now()
    )
