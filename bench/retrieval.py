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
    "VPN", "printer", "Outlook", "Active Directory", "Wi-Fi", "backup", "firewall", "laptop", "SharePoint",
    "Teams", "MFA", "payroll app", "file server", "DNS", "certificate", "scanner", "phone system", "CRM",
    "database", "web portal", "email relay", "antivirus", "OneDrive", "Citrix", "badge reader",
]  # fmt: skip
SYMPTOMS = [
    "will not connect", "is very slow", "shows an authentication error", "keeps disconnecting",
    "rejects the password", "crashes on start", "cannot sync", "reports a license error", "times out",
    "is missing for a new hire", "prints blank pages", "needs a reset", "stopped after the update",
]  # fmt: skip
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
        for start in range(0, len(layout), 500):
            batch = layout[start : start + 500]
            documents = Document.objects.bulk_create(
                Document(source=source, uri=name, title=title, content_hash=hashlib.sha256(name.encode()).hexdigest(),
                         last_modified=timezone.now(), indexed_at=timezone.now())
                for name, title, _ in batch
            )  # fmt: skip
            chunks = []
            for document, (_, title, drafts) in zip(documents, batch, strict=True):
                for draft in drafts:
                    chunks.append(Chunk(
                        document=document, source=source, ordinal=draft.ordinal,  # type: ignore[attr-defined]
                        heading_path=draft.heading_path, line_start=draft.line_start,  # type: ignore[attr-defined]
                        line_end=draft.line_end, text=draft.text, token_count=draft.token_count,  # type: ignore[attr-defined]
                        content_hash=hashlib.sha256(draft.embedding_input(title).encode()).hexdigest(),  # type: ignore[attr-defined]
                        embedding=next(vectors_iter), embedding_model=model,
                    ))  # fmt: skip
            Chunk.objects.bulk_create(chunks, batch_size=2000)
        with connection.cursor() as cursor:
            config = settings.KNOWLEDGE_SEARCH_CONFIG
            cursor.execute(
                "UPDATE knowledge_chunk c SET search = "
                "setweight(to_tsvector(%s::regconfig, d.title || ' ' || array_to_string(c.heading_path, ' ')), 'A') || "
                "setweight(to_tsvector(%s::regconfig, c.text), 'B') "
                "FROM knowledge_document d WHERE d.id = c.document_id",
                [config, config],
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embeddings", choices=["local", "litellm-scripted"], default="local")
    parser.add_argument(
        "--load", choices=["pipeline", "bulk"], default="pipeline",
        help="bulk: store the floor's vectors directly (documents, chunks, FTS, HNSW) to measure queries at sizes "
        "the pipeline cannot ingest in a sitting; ingestion throughput is then not measured.",
    )  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.knowledge.chunking import chunk_text
    from apps.knowledge.embeddings import get_provider
    from apps.knowledge.extract import extract
    from apps.knowledge.models import Chunk, EmbeddingCacheEntry, KnowledgeSource, SourceKind
    from apps.knowledge.retrieval import search
    from apps.knowledge.services import create_source, sync_now
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    call_command("migrate_schemas", interactive=False, verbosity=0)
    ensure_public_tenant()
    client = Client.objects.filter(slug="benchkb").first() or create_client(name="Bench KB", slug="benchkb")
    workdir = Path(tempfile.mkdtemp(prefix="gaby-bench-kb-"))
    scripted = None
    try:
        sections = generate_corpus(workdir, args.chunks)
        with tenant_context(client):
            from apps.knowledge.services import set_embedding_backend

            if args.embeddings == "litellm-scripted":
                from apps.agent.services import save_provider
                from tests.llm_server import ScriptedLLM

                scripted = ScriptedLLM()
                from apps.agent.models import LLMProvider

                set_embedding_backend(backend="default")  # a run that was interrupted may have left it chosen
                LLMProvider.objects.filter(name="bench-embedder").delete()
                llm = save_provider(
                    client=client, name="bench-embedder", kind="openai_compatible", api_base=scripted.base_url,
                    credentials={},
                )  # fmt: skip
                set_embedding_backend(backend="litellm", provider=llm, model="bench-bag-of-words")
            else:
                set_embedding_backend(backend="default")
            provider = get_provider()
            KnowledgeSource.objects.all().delete()
            EmbeddingCacheEntry.objects.all().delete()  # a cold start: everything must be embedded
            provider.embed(["warm up the model"])

            # Floor for ingestion: the model alone on exactly the texts the pipeline embeds.
            texts: list[str] = []
            layout: list[tuple[str, str, list[object]]] = []  # (file, title, drafts) for --load bulk
            for path in sorted(workdir.iterdir()):
                extracted = extract(path.name, path.read_bytes())
                drafts = chunk_text(extracted.text, max_tokens=settings.KNOWLEDGE_CHUNK_TOKENS)
                texts += [d.embedding_input(extracted.title) for d in drafts]
                layout.append((path.name, extracted.title, list(drafts)))
            model_ms, vectors = _timed(provider.embed, texts)

            source = create_source(
                kind=SourceKind.DIRECTORY, name="Bench corpus", config={"path": str(workdir)}, server_paths=True
            )
            print(f"corpus: {len(layout)} documents, {len(texts)} chunks; model {provider.model}")
            print(f"  raw model embedding (floor)   {len(texts) / (model_ms / 1000):8.1f} chunks/s")
            if args.load == "bulk":
                load_ms, _ = _timed(bulk_load, source, layout, vectors, provider.model)
                print(
                    f"  bulk load (no pipeline)       {len(texts) / (load_ms / 1000):8.1f} chunks/s (rows + FTS + HNSW)"
                )
            else:
                ingest_ms, report = _timed(sync_now, source=source)
                chunks = Chunk.objects.filter(source=source).count()
                resync_ms, again = _timed(sync_now, source=source)
                summary_text, embedded = report.summary(), again.chunks_embedded  # type: ignore[attr-defined]
                print(f"  ingestion pipeline (cold)     {chunks / (ingest_ms / 1000):8.1f} chunks/s  ({summary_text})")
                print(f"  re-sync, nothing changed      {resync_ms / 1000:8.2f} s, {embedded} chunks embedded")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE knowledge_chunk")

            rng = random.Random(11)
            queries = [
                f"{s} {t}" if rng.random() < 0.5 else f"my {t} {s}" for t, s in rng.sample(sections, k=args.queries)
            ]
            config = settings.KNOWLEDGE_SEARCH_CONFIG
            fts_sql = (
                "SELECT id FROM knowledge_chunk, websearch_to_tsquery(%s::regconfig, %s) q "
                "WHERE search @@ q ORDER BY ts_rank_cd(search, q) DESC LIMIT 50"
            )
            vec_sql = "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 50"
            embed_ms, fts_ms, vec_ms, hybrid_ms = [], [], [], []
            for i, query in enumerate(queries):
                elapsed, vectors = _timed(provider.embed, [query])
                literal = "[" + ",".join(f"{x:.7g}" for x in vectors[0]) + "]"  # type: ignore[index]
                with connection.cursor() as cursor:
                    started = time.perf_counter()
                    cursor.execute(fts_sql, [config, query])
                    cursor.fetchall()
                    lexical = (time.perf_counter() - started) * 1000
                    started = time.perf_counter()
                    cursor.execute(vec_sql, [literal])
                    cursor.fetchall()
                    semantic = (time.perf_counter() - started) * 1000
                total, _ = _timed(search, query, record_usage=False)
                if i >= 10:  # warm-up excluded
                    embed_ms.append(elapsed)
                    fts_ms.append(lexical)
                    vec_ms.append(semantic)
                    hybrid_ms.append(total)
            floor = [a + b + c for a, b, c in zip(embed_ms, fts_ms, vec_ms, strict=True)]
            print(f"{len(hybrid_ms)} queries (after 10 warm-up), top 50 candidates per side, one connection:")
            print(f"  raw SQL full-text (floor)     {summary(fts_ms)}")
            print(f"  raw SQL pgvector HNSW (floor) {summary(vec_ms)}")
            print(f"  query embedding (model)       {summary(embed_ms)}")
            print(f"  sum of the three floors       {summary(floor)}")
            print(f"  hybrid search() end to end    {summary(hybrid_ms)}")
            KnowledgeSource.objects.all().delete()
            set_embedding_backend(backend="default")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if scripted is not None:
            scripted.close()


if __name__ == "__main__":
    main()
