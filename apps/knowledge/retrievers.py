"""The two candidate retrievers of hybrid search, each doing bounded work whatever the corpus size.

Full text: a GIN index finds matches fast, but cannot order them, so ranking every match
(``ts_rank_cd``) costs as much as there are matches; a query with a common word matches most of a
large corpus. Candidates are therefore taken in tiers of decreasing coordination: passages
matching the whole query (``websearch_to_tsquery``: every term, phrases, negations), then those
matching all its words but one, then any of them. Each tier reads at most ``POOL`` matches through
the GIN index and ranks only those; the next tier runs only while fewer than ``limit`` candidates
were found. A tier's passages rank before the next tier's, then by ``ts_rank_cd`` (title and
headings weigh more than the passage).

Vectors: ``ORDER BY embedding <=> q LIMIT k`` walks the HNSW index. A filter (source, recency)
is applied after the walk, so a filter that keeps few chunks would leave the walk with too few
results: when at most ``EXACT_UNDER`` chunks pass the filters they are compared exactly (no index,
always complete); above that the walk is widened (``hnsw.ef_search``) in proportion.

Both only name unqualified tables, resolved through the client's ``search_path`` (MSP-6).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection

POOL = 1000  # matches ranked per full-text tier at most
EXACT_UNDER = 20000  # filtered vector search compares exactly up to this many chunks
EF_SEARCH_MAX = 1000  # pgvector's ceiling for hnsw.ef_search
NEAR_MAX_TERMS = 8  # "all words but one" is built for queries of up to this many distinct words


@dataclass(frozen=True)
class Filters:
    source_ids: list[UUID] | None = None
    modified_after: datetime | None = None
    tags: list[str] | None = None  # documents carrying any of these tags

    @property
    def active(self) -> bool:
        return bool(self.source_ids) or self.modified_after is not None or bool(self.tags)

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.source_ids:
            clauses.append("c.source_id = ANY(%s)")
            params.append(list(self.source_ids))
        if self.modified_after is not None:
            clauses.append("c.document_id IN (SELECT id FROM knowledge_document WHERE last_modified >= %s)")
            params.append(self.modified_after)
        if self.tags:
            clauses.append("c.document_id IN (SELECT id FROM knowledge_document WHERE tags && %s::varchar[])")
            params.append([t.strip().lower() for t in self.tags])
        return "".join(f" AND {c}" for c in clauses), params


@dataclass
class QueryTerms:
    """The query's words and the lexemes each stems to (stop words stem to nothing)."""

    text: str
    words: dict[str, set[str]] = field(default_factory=dict)

    @property
    def lexemes(self) -> list[str]:
        return sorted({lexeme for forms in self.words.values() for lexeme in forms})


def analyse(text: str, words: list[str]) -> QueryTerms:
    """One round trip: each distinct word's lexemes, with the search configuration's stemming and stop words."""
    if not words:
        return QueryTerms(text=text)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w, tsvector_to_array(to_tsvector(%s::regconfig, w)) FROM unnest(%s::text[]) AS w",
            [settings.KNOWLEDGE_SEARCH_CONFIG, words],
        )
        return QueryTerms(text=text, words={word: set(lexemes) for word, lexemes in cursor.fetchall() if lexemes})


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tiers_for(terms: QueryTerms) -> list[tuple[str, str, list[Any]]]:
    """(name, tsquery SQL, params) from the most demanding to the loosest; each word is one alternative group."""
    config = settings.KNOWLEDGE_SEARCH_CONFIG
    groups = ["(" + " | ".join(_quote(lex) for lex in sorted(forms)) + ")" for forms in terms.words.values()]
    tiers: list[tuple[str, str, list[Any]]] = [("all", "websearch_to_tsquery(%s::regconfig, %s)", [config, terms.text])]
    if 3 <= len(groups) <= NEAR_MAX_TERMS:
        near = " | ".join("(" + " & ".join(combo) + ")" for combo in combinations(groups, len(groups) - 1))
        tiers.append(("all but one", "to_tsquery('simple', %s)", [near]))
    if len(groups) >= 2:
        tiers.append(("any", "to_tsquery('simple', %s)", [" | ".join(groups)]))
    return tiers


def tier_sql(match: str, where: str) -> str:
    return f"""
        SELECT c.id, ts_rank_cd(c.search, to_tsquery('simple', %s), 1) AS score
        FROM (
            SELECT c.id, c.search FROM knowledge_chunk c
            WHERE c.search @@ {match} AND NOT c.id = ANY(%s::uuid[]) {where}
            LIMIT {POOL}
        ) c
        ORDER BY score DESC, c.id
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters


def lexical(terms: QueryTerms, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    """Up to ``limit`` (chunk id, score); the score is the tier bonus (2, 1, 0 from the strictest) plus ``ts_rank_cd``.

    bench/retrieval.py runs this as its full-text floor: it is the SQL, with a loop around it.
    """
    if not terms.words:
        return []
    where, filter_params = filters.sql()
    loose = " | ".join(_quote(lex) for lex in terms.lexemes)
    tiers = tiers_for(terms)
    found: list[tuple[UUID, float]] = []
    with connection.cursor() as cursor:
        for index, (_, match, match_params) in enumerate(tiers):
            seen = [cid for cid, _ in found]
            cursor.execute(tier_sql(match, where), [loose, *match_params, seen, *filter_params, limit - len(found)])
            bonus = float(len(tiers) - 1 - index)
            found += [(row[0], bonus + float(row[1])) for row in cursor.fetchall()]
            if len(found) >= limit:
                break
    return found


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def semantic_sql(
    literal: str, model: str, filters: Filters, limit: int, *, exact: bool = False
) -> tuple[str, list[Any]]:
    """The vector query (also run raw by bench/retrieval.py as its floor); ``exact`` bypasses the HNSW index."""
    where, params = filters.sql()
    # "+ 0" makes the ORDER BY an expression the index cannot serve: every filtered chunk is compared.
    order = "(c.embedding <=> %s::vector) + 0" if exact else "c.embedding <=> %s::vector"
    sql = f"""
        SELECT c.id, 1 - (c.embedding <=> %s::vector) AS similarity
        FROM knowledge_chunk c
        WHERE c.embedding IS NOT NULL AND c.embedding_model = %s {where}
        ORDER BY {order}
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters
    return sql, [literal, model, *params, literal, limit]


def ef_search(limit: int, *, kept: float = 1.0) -> int:
    """How wide the HNSW walk goes for ``limit`` results when a share ``kept`` of the chunks passes the filters."""
    return min(EF_SEARCH_MAX, max(40, int(limit / max(kept, 1e-6))))


def _filtered_share(filters: Filters) -> tuple[int, float]:
    """How many chunks pass the filters (counted up to EXACT_UNDER + 1) and their share of all chunks."""
    where, params = filters.sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM knowledge_chunk c WHERE c.embedding IS NOT NULL {where} LIMIT %s) s",  # noqa: S608
            [*params, EXACT_UNDER + 1],
        )
        kept = int(cursor.fetchone()[0])
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'knowledge_chunk'::regclass")
        total = max(float(cursor.fetchone()[0]), 1.0)
    return kept, min(1.0, kept / total)


def _walk(filters: Filters) -> tuple[bool, float]:
    """Whether the filtered chunks are few enough to compare exactly, and the share of chunks that pass."""
    if not filters.active:
        return False, 1.0
    count, kept = _filtered_share(filters)
    return count <= EXACT_UNDER, kept


def semantic(vector: list[float], model: str, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    exact, kept = _walk(filters)
    sql, params = semantic_sql(vector_literal(vector), model, filters, limit, exact=exact)
    with connection.cursor() as cursor:
        if not exact:
            use_ef_search(cursor, ef_search(limit, kept=kept))
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


_ef_search_of: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def use_ef_search(cursor: Any, value: int) -> None:
    """Set ``hnsw.ef_search`` for the next query without a round trip when the connection already has it.

    Outside a transaction the setting is kept by the session (remembered per connection); inside one,
    SET LOCAL ends with it, since a rollback would undo a session-level SET behind our back.
    """
    if connection.in_atomic_block:
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [value])
        return
    raw = connection.connection
    if _ef_search_of.get(raw) != value:
        cursor.execute("SET hnsw.ef_search = %s", [value])
        _ef_search_of[raw] = value


def semantic_many(vectors: list[list[float]], model: str, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    """The chunks nearest any of ``vectors`` (a ticket's passages), each scored by its closest one; one round trip.

    Each passage walks the index for its own ``limit`` nearest (a LATERAL join), so a chunk close to one sentence
    of the ticket is found even when the ticket as a whole is about something broader.
    """
    if len(vectors) == 1:
        return semantic(vectors[0], model, filters, limit)
    exact, kept = _walk(filters)
    where, params = filters.sql()
    order = "(c.embedding <=> q.v) + 0" if exact else "c.embedding <=> q.v"
    sql = f"""
        SELECT n.id, max(n.similarity) AS similarity
        FROM unnest(%s::vector[]) AS q(v)
        CROSS JOIN LATERAL (
            SELECT c.id, 1 - (c.embedding <=> q.v) AS similarity
            FROM knowledge_chunk c
            WHERE c.embedding IS NOT NULL AND c.embedding_model = %s {where}
            ORDER BY {order}
            LIMIT %s
        ) n
        GROUP BY n.id
        ORDER BY similarity DESC, n.id
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters
    with connection.cursor() as cursor:
        if not exact:
            use_ef_search(cursor, ef_search(limit, kept=kept))
        # vector[] is parsed once per query, not once per passage's walk as a text cast would be.
        cursor.execute(sql, [[vector_literal(v) for v in vectors], model, *params, limit, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


SALIENT_TERMS = 12  # the rarest words of a long query that are searched
RARE_COUNT_CAP = 200  # a lexeme the planner's statistics do not list is counted exactly, up to this many chunks


@dataclass(frozen=True)
class Salience:
    """A long query's searched lexemes and their weights (inverse document frequency x log term frequency)."""

    weights: dict[str, float]


def _common_lexemes(cursor: Any) -> tuple[dict[str, float], float, int]:
    """What ANALYZE learnt of the chunks' lexemes: the most common ones (up to ~1,000) with the share of chunks
    holding each, the smallest such share (every other lexeme is rarer), and the number of chunks."""
    cursor.execute(
        "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, greatest(c.reltuples, 0)::bigint "
        "FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = c.relname "
        "AND s.attname = 'search' WHERE c.oid = 'knowledge_chunk'::regclass"
    )
    row = cursor.fetchone()
    if row is None or not row[0]:
        return {}, 0.0, int(row[2]) if row else 0
    lexemes, shares, chunks = row
    # pg_stats appends the minimum, the maximum and the null share after the per-element shares.
    common = {lexeme: float(share) for lexeme, share in zip(lexemes, shares[: len(lexemes)], strict=True)}
    return common, float(shares[len(lexemes)]), int(chunks)


def salience(terms: QueryTerms, counts: dict[str, int], *, keep: int = SALIENT_TERMS) -> Salience:
    """Each lexeme's document frequency in this client's chunks, then BM25's idf times 1 + log of how often the
    query uses it; the ``keep`` heaviest. Common lexemes' frequencies come from the planner's statistics (reading
    them costs one row); only the others, rare by definition, are counted through the GIN index."""
    lexemes = [lexeme for lexeme in terms.lexemes if len(lexeme) > 1]  # a lone letter names nothing
    if not lexemes:
        return Salience({})
    with connection.cursor() as cursor:
        common, rarest_share, total = _common_lexemes(cursor)
        frequency = {lexeme: round(common[lexeme] * total) for lexeme in lexemes if lexeme in common}
        rare = [lexeme for lexeme in lexemes if lexeme not in common]
        # A listed lexeme's share bounds every other one's; without statistics yet (a new client), count them all.
        cap = max(1, min(RARE_COUNT_CAP, math.ceil(rarest_share * total))) if common else max(RARE_COUNT_CAP, total)
        if rare:
            cursor.execute(
                "SELECT l, (SELECT count(*) FROM (SELECT 1 FROM knowledge_chunk c "
                "WHERE c.search @@ to_tsquery('simple', quote_literal(l)) LIMIT %s) s) "
                "FROM unnest(%s::text[]) AS l",
                [cap, rare],
            )
            frequency.update({lexeme: int(df) for lexeme, df in cursor.fetchall()})
    total = max(total, max(frequency.values(), default=0), 1)
    uses: dict[str, int] = {}
    for word, forms in terms.words.items():
        for lexeme in forms:
            uses[lexeme] = uses.get(lexeme, 0) + counts.get(word, 1)
    weights = {}
    for lexeme, df in frequency.items():
        if df == 0:
            continue
        idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
        weights[lexeme] = idf * (1 + math.log(uses.get(lexeme, 1)))
    heaviest = sorted(weights, key=lambda lexeme: (-weights[lexeme], lexeme))[:keep]
    return Salience({lexeme: weights[lexeme] for lexeme in heaviest})


def salient(found: Salience, filters: Filters, limit: int) -> list[tuple[UUID, float]]:
    """Chunks holding any salient lexeme, scored by the summed weights of those they hold (a bag-of-words match
    that counts a rare word for more than a common one, where ``ts_rank_cd`` counts them alike)."""
    if not found.weights:
        return []
    where, filter_params = filters.sql()
    lexemes = list(found.weights)
    # One test per lexeme against the row's tsvector: cheaper than unpacking the tsvector into an array per row.
    score = " + ".join("(CASE WHEN c.search @@ %s::tsquery THEN %s ELSE 0 END)" for _ in lexemes)
    sql = f"""
        SELECT c.id, {score} AS score
        FROM (
            SELECT c.id, c.search FROM knowledge_chunk c
            WHERE c.search @@ to_tsquery('simple', %s) {where}
            LIMIT {POOL}
        ) c
        ORDER BY score DESC, c.id
        LIMIT %s
    """  # noqa: S608 - only fixed clauses are interpolated; values are parameters
    weights = [value for lexeme in lexemes for value in (_quote(lexeme), found.weights[lexeme])]
    match = " | ".join(_quote(lexeme) for lexeme in lexemes)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*weights, match, *filter_params, limit])
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
