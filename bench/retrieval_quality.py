"""Retrieval quality on a labelled public corpus: Debian's FAQ (questions -> their answer sections).

Fetches the ``debian-faq`` package once into ``$GABY_DATA_DIR/bench/debian-faq`` (bench/debian_faq.py),
writes every answer section as one Markdown document (the question left out, titled only by its
section number), ingests them into a throw-away client ("benchkbq") through the real ingestion
service with the client's default embeddings (local MiniLM), then runs every question through the
real ``search()`` in its three modes: full text only, vector only, hybrid. Per mode it prints
recall@5 and recall@10 (the question's own section among the first 5 / 10 distinct documents; one
relevant document per query, so recall@k is the share of queries answered in the top k) and MRR@10.

    .venv/bin/python bench/retrieval_quality.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.debian_faq import Pair, fetch, parse, read, write_answers

MODES = {"full-text only": "lexical", "vector only": "semantic", "hybrid": "hybrid"}


def ranks(pairs: list[Pair], uri_of: dict[object, str], run: object, mode: str) -> list[int | None]:
    """For each question, the rank of its own section among the distinct documents returned (None: not in 10)."""
    found: list[int | None] = []
    for pair in pairs:
        hits = run(pair.question, limit=50, record_usage=False, mode=mode).hits  # type: ignore[operator]
        documents: list[str] = []
        for hit in hits:
            uri = uri_of[hit.citation.document_id]
            if uri not in documents:
                documents.append(uri)
        wanted = f"faq-{pair.number}.md"
        found.append(documents.index(wanted) + 1 if wanted in documents[:10] else None)
    return found


def scores(found: list[int | None]) -> tuple[float, float, float]:
    """recall@5, recall@10, MRR@10."""
    n = max(len(found), 1)
    at5 = sum(1 for r in found if r is not None and r <= 5) / n
    at10 = sum(1 for r in found if r is not None) / n
    mrr = sum(1 / r for r in found if r is not None) / n
    return at5, at10, mrr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="leave the corpus in the benchkbq client")
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from apps.knowledge.embeddings import get_provider
    from apps.knowledge.models import Document, KnowledgeSource, SourceKind
    from apps.knowledge.retrieval import SEMANTIC_WEIGHT, search
    from apps.knowledge.services import create_source, set_embedding_backend, sync_now
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    pairs = parse(read(fetch(Path(settings.DATA_DIR) / "bench" / "debian-faq")))
    call_command("migrate_schemas", interactive=False, verbosity=0)
    ensure_public_tenant()
    client = Client.objects.filter(slug="benchkbq").first() or create_client(name="Bench KB quality", slug="benchkbq")
    workdir = Path(tempfile.mkdtemp(prefix="gaby-bench-faq-"))
    try:
        write_answers(pairs, workdir)
        with tenant_context(client):
            set_embedding_backend(backend="default")
            KnowledgeSource.objects.all().delete()
            provider = get_provider()
            source = create_source(
                kind=SourceKind.DIRECTORY, name="Debian FAQ answers", config={"path": str(workdir)}, server_paths=True
            )
            started = time.perf_counter()
            report = sync_now(source=source)
            print(
                f"Debian FAQ: {len(pairs)} question/answer sections; model {provider.model}; "
                f"hybrid weighs semantic {SEMANTIC_WEIGHT}"
            )
            print(f"  ingested: {report.summary()} in {time.perf_counter() - started:.1f} s")
            uri_of = {pk: Path(uri).name for pk, uri in Document.objects.values_list("id", "uri")}
            print(f"  {len(pairs)} queries (the questions), one relevant document each:")
            results = {}
            for label, mode in MODES.items():
                results[label] = scores(ranks(pairs, uri_of, search, mode))
                at5, at10, mrr = results[label]
                print(f"    {label:15s} recall@5 {at5:.3f}  recall@10 {at10:.3f}  MRR@10 {mrr:.3f}")
            hybrid = results["hybrid"]
            beats = all(hybrid[i] > results[other][i] for other in ("full-text only", "vector only") for i in range(3))
            print(f"  hybrid beats both alone on all three measures: {'yes' if beats else 'NO'}")
            if not args.keep:
                KnowledgeSource.objects.all().delete()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
