"""Hybrid retrieval with citations and explanations (KB-4, KB-5, MSP-6).

Two candidate lists of bounded size come from the current client's schema (apps/knowledge/retrievers.py):
PostgreSQL full-text search (chunks matching every term rank before chunks matching all but one, then
any; then by ``ts_rank_cd``) and pgvector cosine similarity through the HNSW index. Then
each side's scores are min-max normalised over its candidates and combined, 0.8 semantic + 0.2 full text
(``SEMANTIC_WEIGHT``); only the final hits are loaded, in one query.
Every hit carries its citation (document, heading path, lines, source URL) and why it was chosen:
the query words it matched, its rank on each side, its cosine similarity and its fused score.
Isolation is structural: the SQL names unqualified tables, resolved through the client's
``search_path``; no other client's rows are reachable.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from django.db import connection
from django.db.models import F
from django.utils import timezone

from apps.knowledge import retrievers, ticket_query
from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.knowledge.models import Document
from apps.knowledge.retrievers import Filters

__all__ = ["MODES", "Citation", "Explanation", "Filters", "Hit", "QueryError", "SearchResult", "fuse", "search"]

# Hybrid fusion weighs semantic similarity 0.8 and full-text relevance 0.2 (convex combination of normalised
# scores). Measured on Debian's FAQ by bench/retrieval_quality.py; reciprocal rank fusion (k=60) fell below
# vector search alone there, because it flattens the score gaps that make a strong match stand out.
SEMANTIC_WEIGHT = 0.8
# hybrid fuses both retrievers; lexical (full-text only) and semantic (vector only) run one side, for the
# search playground's comparison and bench/retrieval_quality.py. A client without embeddings is always lexical.
MODES = ("hybrid", "lexical", "semantic")
QUERY_MAX_CHARS = 1000  # a search box query
TICKET_MAX_CHARS = 20000  # a whole ticket, after its quotes and signature are stripped
# Document-level ranking (by_document): a page ranks by its best chunk. Adding a share of its next best chunks was
# measured by bench/retrieval_quality.py on the FAQ and the long tickets' dev split and lost MRR on both (a page long
# enough to hold three loosely related passages is rarely the one asked about).
PER_DOCUMENT = 3
DETAIL_FACTOR = 3  # chunks loaded per hit returned: the document ranking's evidence
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
    mode: str  # one of MODES
    hits: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


def query_terms(query: str, *, long: bool = False) -> retrievers.QueryTerms:
    """The query's distinct words (at most 64; a whole ticket's up to 400) and their lexemes."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    return retrievers.analyse(query, words[: 400 if long else 64])


def _word_uses(query: str) -> dict[str, int]:
    return Counter(word.lower() for word in _WORD.findall(query))


def by_document(fused: dict[UUID, float], document_of: dict[UUID, UUID], limit: int) -> list[UUID]:
    """Chunks grouped by page: pages in the order of their best chunk, each page's chunks best first, at most
    ``PER_DOCUMENT`` of them, so one long page does not crowd the others out; citations stay chunks."""
    pages: dict[UUID, list[UUID]] = {}  # in the order each page's best chunk ranks
    for cid in sorted(fused, key=lambda cid: (-fused[cid], str(cid))):
        if cid in document_of:
            pages.setdefault(document_of[cid], []).append(cid)
    return [cid for chunks in pages.values() for cid in chunks[:PER_DOCUMENT]][:limit]


def _normalised(scored: list[tuple[UUID, float]]) -> dict[UUID, float]:
    """Min-max over the candidate list: its best 1, its worst 0 (a single candidate, or all equal: 1)."""
    if not scored:
        return {}
    high, low = max(s for _, s in scored), min(s for _, s in scored)
    span = high - low
    return {cid: (s - low) / span if span else 1.0 for cid, s in scored}


def fuse(
    lexical: list[tuple[UUID, float]], semantic: list[tuple[UUID, float]], *, weight: float | None = None
) -> dict[UUID, float]:
    """Convex combination of each side's min-max normalised scores: ``weight * semantic + (1 - weight) * lexical``.

    Unlike reciprocal rank fusion it keeps how far apart candidates score, so a strong match on one side is not
    pulled level with the other side's also-rans. A side that ran alone scores on its own (weight 1).
    """
    weight = SEMANTIC_WEIGHT if weight is None else weight
    if not semantic:
        weight = 0.0
    elif not lexical:
        weight = 1.0
    scores = {cid: (1 - weight) * s for cid, s in _normalised(lexical).items()}
    for cid, s in _normalised(semantic).items():
        scores[cid] = scores.get(cid, 0.0) + weight * s
    return scores


def line_url(url: str, line_start: int, line_end: int) -> str:
    """The original's address, pointing at the lines when its host can (a git web host's blob view)."""
    if url and "/blob/" in url and "#" not in url:
        plain = "?plain=1" if url.lower().endswith((".md", ".markdown")) else ""
        return f"{url}{plain}#L{line_start}-L{line_end}"
    return url


@dataclass(frozen=True)
class _Row:
    text: str
    heading_path: list[str]
    line_start: int
    line_end: int
    document_id: UUID
    title: str
    uri: str
    source_url: str
    source_name: str
    lexemes: set[str]


def _details(ids: list[UUID]) -> dict[UUID, _Row]:
    """What the final hits show, in one query (no vectors read; the ORM's per-row cost skipped)."""
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.text, c.heading_path, c.line_start, c.line_end, d.id, d.title, d.uri, d.source_url, "
            "s.name, tsvector_to_array(c.search) FROM knowledge_chunk c "
            "JOIN knowledge_document d ON d.id = c.document_id JOIN knowledge_knowledgesource s ON s.id = c.source_id "
            "WHERE c.id = ANY(%s::uuid[])",
            [list(ids)],
        )
        return {
            cid: _Row(text, path, start, end, document_id, title, uri, url, source, set(lexemes or ()))
            for cid, text, path, start, end, document_id, title, uri, url, source, lexemes in cursor.fetchall()
        }


def search(
    query: str,
    *,
    limit: int = 8,
    filters: Filters | None = None,
    provider: EmbeddingProvider | None = None,
    candidates: int = 50,
    record_usage: bool = True,
    mode: str = "hybrid",
    max_chars: int = QUERY_MAX_CHARS,
) -> SearchResult:
    """The best passages for ``query`` in the current client's knowledge, cited and explained.

    ``max_chars``: the search box keeps ``QUERY_MAX_CHARS``; the agent passes ``TICKET_MAX_CHARS`` to search with a
    whole ticket, which is then read as passages and salient terms (apps/knowledge/ticket_query.py).
    """
    query = query.strip()
    if not query:
        raise QueryError("Type what you are looking for.")
    if len(query) > max_chars:
        raise QueryError(f"Keep the query under {max_chars} characters.")
    if mode not in MODES:
        raise QueryError(f"Choose a retrieval mode among {', '.join(MODES)}.")
    limit = max(1, min(limit, 50))
    filters = filters or Filters()
    provider = provider or get_provider()
    timings: dict[str, float] = {}

    if not provider.enabled:
        if mode == "semantic":
            raise QueryError("Vector-only search needs embeddings: choose an embedding model, or search in full text.")
        mode = "lexical"

    started = time.perf_counter()
    long = ticket_query.is_long(query)
    terms = query_terms(query, long=long)
    lexical: list[tuple[UUID, float]] = []
    if mode != "semantic":
        if long:
            lexical = retrievers.salient(retrievers.salience(terms, _word_uses(query)), filters, candidates)
        else:
            lexical = retrievers.lexical(terms, filters, candidates)
        timings["lexical"] = (time.perf_counter() - started) * 1000
    semantic: list[tuple[UUID, float]] = []
    if mode != "lexical":
        started = time.perf_counter()
        passages = [query, *ticket_query.windows(query)] if long else [query]
        vectors = [v for v in provider.embed_queries(passages) if v]
        timings["embed"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        semantic = retrievers.semantic_many(vectors, provider.model, filters, candidates) if vectors else []
        timings["semantic"] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    lexical_rank = {cid: (rank, score) for rank, (cid, score) in enumerate(lexical, start=1)}
    semantic_rank = {cid: (rank, sim) for rank, (cid, sim) in enumerate(semantic, start=1)}
    fused = fuse(lexical, semantic)
    # The best few times ``limit`` chunks are loaded (one query, with their documents), then ranked by document.
    rows = _details(sorted(fused, key=lambda cid: (-fused[cid], str(cid)))[: limit * DETAIL_FACTOR])
    top = by_document({cid: fused[cid] for cid in rows}, {cid: row.document_id for cid, row in rows.items()}, limit)
    words = terms.words
    result = SearchResult(query=query, mode=mode, timings_ms=timings)
    for cid in top:
        row = rows.get(cid)
        if row is None:
            continue  # deleted between the two queries
        lex = lexical_rank.get(cid)
        sem = semantic_rank.get(cid)
        result.hits.append(
            Hit(
                chunk_id=cid,
                text=row.text,
                citation=Citation(
                    document_id=row.document_id,
                    document_title=row.title,
                    source_name=row.source_name,
                    uri=row.uri,
                    heading_path=list(row.heading_path),
                    line_start=row.line_start,
                    line_end=row.line_end,
                    source_url=line_url(row.source_url, row.line_start, row.line_end),
                ),
                explanation=Explanation(
                    matched_terms=[w for w, forms in words.items() if forms & row.lexemes],
                    lexical_rank=lex[0] if lex else None,
                    lexical_score=round(lex[1], 4) if lex else None,
                    semantic_rank=sem[0] if sem else None,
                    semantic_similarity=round(sem[1], 4) if sem else None,
                    fused_score=round(fused[cid], 4),
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
