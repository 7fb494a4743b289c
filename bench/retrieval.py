"""Knowledge ingestion and hybrid retrieval, next to floors measured in the same run.

Generates a corpus of IT-support runbooks (Markdown, one section per chunk) in a throw-away
client schema ("benchkb"), then prints:

- ingestion throughput (chunks/s through the whole pipeline: read, hash, chunk, embed, store,
  index) next to the raw embedding model's throughput on exactly the same texts;
- a re-sync of the unchanged corpus (must embed zero chunks);
- query latency p50/p95 of ``retrieval.search`` (hybrid: full-text + vector + fusion + citations)
  next to its floors: the raw full-text SQL query, the raw pgvector HNSW query (same query vector),
  and the query embedding alone.

    .venv/bin/python bench/retrieval.py [--chunks 3000] [--queries 200] [--embeddings local|litellm-scripted]

``--embeddings litellm-scripted`` embeds through the client's LiteLLM backend (the real litellm path
and HTTP) against the scripted OpenAI-compatible server of the tests, whose vectors are bag-of-words
hashes: it measures the pipeline, the HNSW index and the queries at sizes (100k chunks) the CPU model
cannot embed in a sitting, not semantic quality.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import summary

TOPICS = [
    "VPN",
    "printer",
    "Outlook",
    "Active Directory",
    "Wi-Fi",
    "backup",
    "firewall",
    "laptop",
    "SharePoint",
    "Teams",
    "MFA",
    "payroll app",
    "file server",
    "DNS",
    "certificate",
    "scanner",
    "phone system",
    "CRM",
    "database",
    "web portal",
    "email relay",
    "antivirus",
    "OneDrive",
    "Citrix",
    "badge reader",
]
SYMPTOMS = [
    "will not connect",
    "is very slow",
    "shows an authentication error",
    "keeps disconnecting",
    "rejects the password",
    "crashes on start",
    "cannot sync",
    "reports a license error",
    "times out",
    "is missing for a new hire",
    "prints blank pages",
    "needs a reset",
    "stopped after the update",
]
STEPS = [
    "Restart the {t} service on the host and wait two minutes.",
    "Check the {t} logs for errors near the time the user reported.",
    "Confirm the user is in the right security group for {t}.",
    "Clear the cached credentials for {t} and sign in again.",
    "Verify the {t} certificate has not expired.",
    "Escalate to the network team if {t} still fails after a reboot.",
    "Open the admin console for {t} and review recent configuration changes.",
    "Ask the user for a screenshot of the {t} error message.",
    "Run the health check script for {t} from the jump host.",
    "Update the {t} client to the latest approved version.",
]


def generate_corpus(root: Path, chunks: int, seed: int = 7) -> list[tuple[str, str]]:
    """Markdown runbooks with ``chunks`` sections; returns (topic, symptom) of every section."""
    rng = random.Random(seed)
    sections_per_doc = 10
    sections: list[tuple[str, str]] = []
    for doc in range(max(1, chunks // sections_per_doc)):
        topic = TOPICS[doc % len(TOPICS)]
        lines = [f"# {topic} runbook {doc}", ""]
        for _ in range(sections_per_doc):
            symptom = rng.choice(SYMPTOMS)
            sections.append((topic, symptom))
            lines += [f"## {topic} {symptom}", ""]
            steps = rng.sample(STEPS, k=rng.randint(3, 5))
            lines += [f"{n}. {step.format(t=topic)}" for n, step in enumerate(steps, start=1)]
            lines += ["", f"Reference code {rng.randint(1000, 9999)}-{rng.choice('ABCDEFGH')}.", ""]
        (root / f"runbook-{doc:05d}.md").write_text("\n".join(lines), encoding="utf-8")
    return sections


def _timed(func: object, *args: object, **kwargs: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = func(*args, **kwargs)  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000, result


def bulk_load(source: object, layout: list[tuple[str, str, list[object]]], vectors: object, model: str) -> None:
    """Documents and chunks written in bulk with the vectors already computed, then indexed in one pass each."""
    import hashlib

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.knowledge.models import Chunk, Document

    vectors_iter = iter(vectors)  # type: ignore[call-overload]
    with transaction.atomic():
        # Build the two search indexes once over all rows (as CREATE INDEX does for a restored database)
        # rather than row by row: the same indexes, in a fraction of the time.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN "
                "('knowledge_chunk_search', 'knowledge_chunk_embedding')"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
        for start in range(0, len(layout), 500):
            batch = layout[start : start + 500]
            documents = Document.objects.bulk_create(
                Document(
                    source=source,
                    uri=name,
                    title=title,
                    content_hash=hashlib.sha256(name.encode()).hexdigest(),
                    last_modified=timezone.now(),
                    indexed_at=timezone.now(),
                )
                for name, title, _ in batch
            )
            chunks = []
            for document, (_, title, drafts) in zip(documents, batch, strict=True):
                for draft in drafts:
                    chunks.append(
                        Chunk(
                            document=document,
                            source=source,
                            ordinal=draft.ordinal,  # type: ignore[attr-defined]
                            heading_path=draft.heading_path,
                            line_start=draft.line_start,  # type: ignore[attr-defined]
                            line_end=draft.line_end,
                            text=draft.text,
                            token_count=draft.token_count,  # type: ignore[attr-defined]
                            content_hash=hashlib.sha256(draft.embedding_input(title).encode()).hexdigest(),  # type: ignore[attr-defined]
                            embedding=next(vectors_iter),
                            embedding_model=model,
                        )
                    )
            Chunk.objects.bulk_create(chunks, batch_size=2000)
        with connection.cursor() as cursor:
            config = settings.KNOWLEDGE_SEARCH_CONFIG
            cursor.execute(
                "UPDATE knowledge_chunk c SET search = "
                "setweight(to_tsvector(%s::regconfig, d.title || ' ' || array_to_string(c.heading_path, ' ')), 'A') || "
                "setweight(to_tsvector(%s::regconfig, c.text), 'B') "
                "FROM knowledge_document d WHERE d.id = c.document_id AND c.search IS NULL",
                [config, config],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # check the deferred foreign keys before indexing
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _, definition in indexes:
                cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE knowledge_chunk")


def _quality(
    queries: list[tuple[str, str]], provider: object, search: object, lexical: object, semantic: object
) -> dict[str, tuple[float, float, float]]:
    """success@5, success@10 and MRR@10 per mode: a hit is relevant when its section is the query's (topic, symptom)."""
    from apps.knowledge.models import Chunk

    ranked: dict[str, list[tuple[list[object], str]]] = {"full-text": [], "vector": [], "hybrid": []}
    for text, heading in queries:
        ranked["full-text"].append(([cid for cid, _ in lexical(text, 10)], heading))  # type: ignore[operator]
        vector = provider.embed_query(text)  # type: ignore[attr-defined]
        ranked["vector"].append(([cid for cid, _ in semantic(vector, 10)], heading))  # type: ignore[operator]
        hits = search(text, limit=10, record_usage=False).hits  # type: ignore[operator]
        ranked["hybrid"].append(([h.chunk_id for h in hits], heading))
    every = {cid for lists in ranked.values() for ids, _ in lists for cid in ids}
    section = {
        pk: (path[-1] if path else "")
        for pk, path in Chunk.objects.filter(pk__in=every).values_list("id", "heading_path")
    }
    scores = {}
    for mode, lists in ranked.items():
        at5 = at10 = rr = 0.0
        for ids, heading in lists:
            first = next((n for n, cid in enumerate(ids, start=1) if section.get(cid) == heading), None)
            if first is not None:
                at5 += first <= 5
                at10 += first <= 10
                rr += 1 / first
        scores[mode] = (at5 / len(lists), at10 / len(lists), rr / len(lists))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--chunks", default="3000", help="corpus size(s), comma-separated and measured in one run: 10000,100000"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embeddings", choices=["local", "litellm-scripted"], default="local")
    parser.add_argument(
        "--load",
        choices=["pipeline", "bulk"],
        default="pipeline",
        help="bulk: store the floor's vectors directly (documents, chunks, FTS, HNSW) to measure queries at sizes "
        "the pipeline cannot ingest in a sitting; ingestion throughput is then not measured.",
    )
    parser.add_argument("--keep", action="store_true", help="leave the corpus in the benchkb client (for EXPLAIN)")
    args = parser.parse_args()
    sizes = sorted({int(n) for n in args.chunks.split(",")})
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.knowledge import retrievers, ticket_query
    from apps.knowledge.chunking import chunk_text
    from apps.knowledge.embeddings import get_provider
    from apps.knowledge.extract import extract
    from apps.knowledge.models import Chunk, EmbeddingCacheEntry, KnowledgeSource, SourceKind
    from apps.knowledge.retrieval import TICKET_MAX_CHARS, Filters, query_terms, search
    from apps.knowledge.services import create_source, sync_now
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    call_command("migrate_schemas", interactive=False, verbosity=0)
    ensure_public_tenant()
    client = Client.objects.filter(slug="benchkb").first() or create_client(name="Bench KB", slug="benchkb")
    staging = Path(tempfile.mkdtemp(prefix="gaby-bench-kb-all-"))
    workdir = Path(tempfile.mkdtemp(prefix="gaby-bench-kb-"))
    scripted = None
    try:
        sections = generate_corpus(staging, sizes[-1])
        files = sorted(staging.iterdir())
        with tenant_context(client):
            from apps.knowledge.services import set_embedding_backend

            KnowledgeSource.objects.all().delete()

            if args.embeddings == "litellm-scripted":
                from apps.llm.models import LLMProvider
                from apps.llm.services import save_provider
                from tests.llm_server import ScriptedLLM

                scripted = ScriptedLLM()
                set_embedding_backend(backend="default")  # a run that was interrupted may have left it chosen
                LLMProvider.objects.filter(name="bench-embedder").delete()
                llm = save_provider(
                    client=client,
                    name="bench-embedder",
                    kind="openai_compatible",
                    api_base=scripted.base_url,
                    credentials={},
                )
                set_embedding_backend(backend="litellm", provider=llm, model="bench-bag-of-words")
            else:
                set_embedding_backend(backend="default")
            provider = get_provider()
            KnowledgeSource.objects.all().delete()
            EmbeddingCacheEntry.objects.all().delete()  # a cold start: everything must be embedded
            provider.embed(["warm up the model"])
            source = create_source(
                kind=SourceKind.DIRECTORY, name="Bench corpus", config={"path": str(workdir)}, server_paths=True
            )
            print(f"model {provider.model}; sizes {', '.join(f'{n:,}' for n in sizes)} chunks, one client")
            loaded_docs = 0
            for size in sizes:
                new_files = files[loaded_docs : max(1, size // 10)]
                loaded_docs += len(new_files)
                # Floor for ingestion: the model alone on exactly the texts the pipeline embeds.
                texts: list[str] = []
                layout: list[tuple[str, str, list[object]]] = []  # (file, title, drafts) for --load bulk
                for path in new_files:
                    extracted = extract(path.name, path.read_bytes())
                    drafts = chunk_text(extracted.text, max_tokens=settings.KNOWLEDGE_CHUNK_TOKENS)
                    texts += [d.embedding_input(extracted.title) for d in drafts]
                    layout.append((path.name, extracted.title, list(drafts)))
                    shutil.copy(path, workdir / path.name)
                model_ms, vectors = _timed(provider.embed, texts)
                total_chunks = Chunk.objects.count() + (len(texts) if args.load == "bulk" else 0)
                print(f"\n== {total_chunks:,} chunks ({len(texts):,} added now)")
                print(f"  raw model embedding (floor)   {len(texts) / (model_ms / 1000):8.1f} chunks/s")
                if args.load == "bulk":
                    load_ms, _ = _timed(bulk_load, source, layout, vectors, provider.model)
                    rate = len(texts) / (load_ms / 1000)
                    print(f"  bulk load (no pipeline)       {rate:8.1f} chunks/s (rows + FTS + HNSW)")
                else:
                    ingest_ms, report = _timed(sync_now, source=source)
                    resync_ms, again = _timed(sync_now, source=source)
                    summary_text, embedded = report.summary(), again.chunks_embedded  # type: ignore[attr-defined]
                    rate = len(texts) / (ingest_ms / 1000)
                    print(f"  ingestion pipeline (cold)     {rate:8.1f} chunks/s  ({summary_text})")
                    print(f"  re-sync, nothing changed      {resync_ms / 1000:8.2f} s, {embedded} chunks embedded")
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE knowledge_chunk")
                    cursor.execute("ANALYZE knowledge_document")

                rng = random.Random(11)
                picked = rng.sample(sections[: loaded_docs * 10], k=min(args.queries, loaded_docs * 10))
                labelled = [(f"{s} {t}" if rng.random() < 0.5 else f"my {t} {s}", f"{t} {s}") for t, s in picked]
                embed_ms, fts_ms, vec_ms, hybrid_ms = [], [], [], []
                no_filters = Filters()
                # Without the query-vector LRU: search() would otherwise reuse the vector the floor just computed
                # (and the texts repeat across sizes), so end to end would leave out the embedding it must pay.
                kept_queries, provider.query_cache_size = provider.query_cache_size, 0
                for i, (query, _) in enumerate(labelled):
                    elapsed, vector = _timed(provider.embed_query, query)
                    literal = retrievers.vector_literal(vector)  # type: ignore[arg-type]
                    vec_sql, vec_params = retrievers.semantic_sql(literal, provider.model, no_filters, 50)
                    with connection.cursor() as cursor:
                        # The full-text floor is search()'s own tiered statements (query analysis included).
                        lexical, _ = _timed(retrievers.lexical, query_terms(query), no_filters, 50)
                        started = time.perf_counter()
                        retrievers.use_ef_search(cursor, retrievers.ef_search(50))
                        cursor.execute(vec_sql, vec_params)
                        cursor.fetchall()
                        semantic = (time.perf_counter() - started) * 1000
                    total, _ = _timed(search, query, record_usage=False)
                    if i >= 10:  # warm-up excluded
                        embed_ms.append(elapsed)
                        fts_ms.append(lexical)
                        vec_ms.append(semantic)
                        hybrid_ms.append(total)
                floor = [a + b + c for a, b, c in zip(embed_ms, fts_ms, vec_ms, strict=True)]
                print(f"  {len(hybrid_ms)} queries (after 10 warm-up), top 50 candidates per side, one connection:")
                print(f"  raw SQL full-text (floor)     {summary(fts_ms)}")
                print(f"  raw SQL pgvector HNSW (floor) {summary(vec_ms)}")
                print(f"  query embedding (model)       {summary(embed_ms)}")
                print(f"  sum of the three floors       {summary(floor)}")
                print(f"  hybrid search() end to end    {summary(hybrid_ms)}")
                without_embedding = [h - e for h, e in zip(hybrid_ms, embed_ms, strict=True)]
                print(f"  search() minus its embedding  {summary(without_embedding)}")
                # Ticket-sized queries, as the agent searches (apps/knowledge/ticket_query.py): three passages of the
                # corpus run together (~250 words); floor: the model embedding the same passages in one batch.
                tickets = [" ".join(rng.sample(texts, 3)) for _ in range(min(60, args.queries))]
                ticket_ms, passages_ms = [], []
                for i, ticket in enumerate(tickets):
                    elapsed, _ = _timed(provider.embed, [ticket, *ticket_query.windows(ticket)])
                    total, _ = _timed(search, ticket, record_usage=False, max_chars=TICKET_MAX_CHARS)
                    if i >= 5:
                        passages_ms.append(elapsed)
                        ticket_ms.append(total)
                print(f"  {len(ticket_ms)} ticket-sized queries (~{len(tickets[0].split())} words, after 5 warm-up):")
                print(f"  its passages embedded (floor) {summary(passages_ms)}")
                print(f"  hybrid search() end to end    {summary(ticket_ms)}   goal p95 < 50 ms")
                provider.query_cache_size = kept_queries
                quality = _quality(
                    labelled[:100],
                    provider,
                    search,
                    lambda q, k: retrievers.lexical(query_terms(q), Filters(), k),
                    lambda v, k: retrievers.semantic(v, provider.model, Filters(), k),
                )
                print(
                    f"  quality on {min(100, len(labelled))} labelled queries "
                    "(relevant: the section of the query's topic and symptom):"
                )
                for mode, (at5, at10, mrr) in quality.items():
                    print(f"    {mode:10s} success@5 {at5:.3f}  success@10 {at10:.3f}  MRR@10 {mrr:.3f}")
            if not args.keep:
                KnowledgeSource.objects.all().delete()
                set_embedding_backend(backend="default")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        if scripted is not None:
            scripted.close()


if __name__ == "__main__":
    main()
