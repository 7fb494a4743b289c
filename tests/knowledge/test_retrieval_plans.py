"""Retrieval at scale stays bounded: the GIN and HNSW indexes are used, filters stay complete, tiers stay ordered.

A few thousand chunks are written straight into the tables (no embedding model: random vectors),
enough for the planner to prefer the indexes; EXPLAIN shows which plan search()'s own SQL gets.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from apps.knowledge import retrievers
from apps.knowledge.models import Chunk, Document, KnowledgeSource, SourceKind
from apps.knowledge.retrieval import query_terms

pytestmark = pytest.mark.django_db

ROWS = 2000
MODEL = "test-random"


@pytest.fixture
def large(in_hartwell: Any) -> dict[str, Any]:
    sources = [KnowledgeSource.objects.create(kind=SourceKind.DIRECTORY, name=n, config={}) for n in ("big", "small")]
    documents = [
        Document.objects.create(source=s, uri=f"{s.name}.md", title=f"{s.name} notes", content_hash="x")
        for s in sources
    ]
    with connection.cursor() as cursor:
        # Every chunk says "printer"; one in 200 also says "toner"; the "small" source holds 20 chunks.
        cursor.execute(
            """
            INSERT INTO knowledge_chunk (id, document_id, source_id, ordinal, heading_path, line_start, line_end,
                                         text, content_hash, token_count, embedding, embedding_model, search)
            SELECT gen_random_uuid(), CASE WHEN g %% 100 = 0 THEN %s ELSE %s END,
                   CASE WHEN g %% 100 = 0 THEN %s ELSE %s END, g, '{}', 1, 2,
                   'printer page ' || g || CASE WHEN g %% 200 = 0 THEN ' toner low' ELSE '' END, md5(g::text), 5,
                   (SELECT array_agg(random()::real) FROM generate_series(1, 384) WHERE g > 0)::vector, %s,
                   to_tsvector('english', 'printer page ' || g || CASE WHEN g %% 200 = 0 THEN ' toner low' ELSE '' END)
            FROM generate_series(1, %s) AS g
            """,
            [documents[1].pk, documents[0].pk, sources[1].pk, sources[0].pk, MODEL, ROWS],
        )
        cursor.execute("ANALYZE knowledge_chunk")
    return {"big": sources[0], "small": sources[1]}


def _plan(sql: str, params: list[Any]) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = 40")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_search_uses_the_gin_and_hnsw_indexes(large: dict[str, Any]) -> None:
    terms = query_terms("toner low")
    name, match, params = retrievers.tiers_for(terms)[0]
    plan = _plan(retrievers.tier_sql(match, ""), ["'toner' | 'low'", *params, [], 50])
    assert name == "all" and "Bitmap Index Scan on knowledge_chunk_search" in plan, plan
    vector = retrievers.vector_literal([0.05] * 384)
    sql, params = retrievers.semantic_sql(vector, MODEL, retrievers.Filters(), 50)
    assert "Index Scan using knowledge_chunk_embedding" in _plan(sql, params)
    hits = retrievers.semantic([0.05] * 384, MODEL, retrievers.Filters(), 50)
    assert len(hits) == 50


def test_filters_stay_complete_and_tiers_stay_ordered(large: dict[str, Any]) -> None:
    small = retrievers.Filters(source_ids=[large["small"].pk])
    hits = retrievers.semantic([0.05] * 384, MODEL, small, 15)
    # 20 chunks pass the filter: an HNSW walk of 40, then filtered, would keep about one; the exact scan keeps 15.
    assert len(hits) == 15
    assert set(Chunk.objects.filter(pk__in=[h for h, _ in hits]).values_list("source_id", flat=True)) == {
        large["small"].pk
    }
    similarities = [s for _, s in hits]
    assert similarities == sorted(similarities, reverse=True)

    # A word in every chunk: a bounded pool is ranked, and chunks with both words come first.
    found = retrievers.lexical(query_terms("printer toner"), retrievers.Filters(), 50)
    assert len(found) == 50
    texts = dict(Chunk.objects.filter(pk__in=[cid for cid, _ in found]).values_list("id", "text"))
    tiers = ["toner" in texts[cid] for cid, _ in found]
    assert tiers[:10] == [True] * 10 and not any(tiers[10:])  # the 10 chunks with both words, then the rest
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
