"""Retrieval quality on labelled public sets over one corpus: Debian's FAQ answers.

Fetches the ``debian-faq`` package once into ``$GABY_DATA_DIR/bench/debian-faq`` (bench/debian_faq.py),
writes every answer section as one Markdown document (the question left out, titled only by its
section number), ingests them into a throw-away client ("benchkbq") through the real ingestion
service with the client's default embeddings, then runs each chosen query set through the real
``apps.knowledge.retrieval.search`` in its three modes: full text only (PostgreSQL's ``ts_rank_cd``, which
issue 21 calls plain BM25), vector only (dense) and hybrid. The sets (bench/_retrieval_sets.py):

- ``faq``: the FAQ's own questions, one short query each;
- ``long-dev`` / ``long-heldout``: customer-style tickets of 150-600 words wrapping one or two FAQ questions,
  the need named indirectly; each is searched two ways: its first 1,000 characters (the agent's path before
  issue 21) and whole (``ticket_query``, the agent's path now).

Per set and mode it prints document recall@5, recall@10 and MRR@10: a query is found at the rank of its first
relevant document among the distinct documents returned (hits are chunks; several chunks of one page count once).
Then the goal of issue 21: on long tickets, hybrid recall@10 >= 1.4x the better of full text and vector alone and
MRR above both; on the FAQ set no loss against the baseline file (figures of today's code, --baseline).

    .venv/bin/python bench/retrieval_quality.py [--sets faq,long-dev,long-heldout] [--json PATH] [--keep]

``--json`` writes, per set and mode, the three figures and every query's rank (null past 10).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._retrieval_sets import SETS, Query, load_tickets, queries_for, summary
from bench.debian_faq import fetch, parse, read, write_answers

MODES = {"full text (BM25)": "lexical", "vector (dense)": "semantic", "hybrid": "hybrid"}
BASELINE = Path(__file__).resolve().parent / "data" / "retrieval_quality_baseline.json"
GOAL_RECALL_FACTOR = 1.4
SEARCH_LIMIT = 50  # chunks asked of search(); documents are counted among their distinct documents
QUERY_CAP = 1000  # search() refuses longer queries; the agent cuts the ticket to this many characters

# The two paths a ticket can take to become a query: the one before issue 21 (its first 1,000 characters) and the
# agent's (the whole ticket, read as passages and salient terms by apps/knowledge/ticket_query.py).
PREFIX = f"first {QUERY_CAP} characters"
WHOLE = "whole ticket (the agent's path)"


def prefix_query(text: str) -> str:
    """What the agent searched for a ticket before: its first 1,000 characters."""
    return text.strip()[:QUERY_CAP]


def ticket_query(text: str) -> str:
    """What the agent searches for a ticket now (apps/agent/context.py::search_knowledge): all of it (the English
    tickets need no gloss; search() reads a long query as passages and salient terms)."""
    return text.strip()


def ranks(
    queries: list[Query], uri_of: dict[Any, str], run: Callable[..., Any], mode: str, as_query: Callable[[str], str]
) -> list[int | None]:
    """Per query, the rank of its first relevant document among the distinct documents returned (None: not in 10)."""
    from apps.knowledge.retrieval import TICKET_MAX_CHARS  # after django.setup()

    found: list[int | None] = []
    for query in queries:
        text = as_query(query.text)
        hits = run(text, limit=SEARCH_LIMIT, record_usage=False, mode=mode, max_chars=TICKET_MAX_CHARS).hits
        documents: list[str] = []
        for hit in hits:
            uri = uri_of[hit.citation.document_id]
            if uri not in documents:
                documents.append(uri)
        wanted = {f"faq-{number}.md" for number in query.relevant}
        first = next((rank for rank, uri in enumerate(documents[:10], start=1) if uri in wanted), None)
        found.append(first)
    return found


def scores(found: list[int | None]) -> dict[str, float]:
    n = max(len(found), 1)
    return {
        "recall@5": sum(1 for r in found if r is not None and r <= 5) / n,
        "recall@10": sum(1 for r in found if r is not None) / n,
        "mrr@10": sum(1 / r for r in found if r is not None) / n,
    }


def goal_lines(name: str, figures: dict[str, dict[str, float]], baseline: dict[str, Any] | None) -> list[str]:
    """The issue's goal for this set, with the figures it compares and its verdict."""
    if name == "faq":
        hybrid = figures["hybrid"]
        if baseline is None or name not in baseline.get("sets", {}):
            return [
                "  goal (no loss on the FAQ set): no baseline to compare with (pass --baseline PATH of a --json run)"
            ]
        before = baseline["sets"][name]["modes"]["hybrid"]
        keeps = all(round(hybrid[m], 4) >= before[m] for m in ("recall@10", "mrr@10"))  # the file keeps 4 places
        return [
            f"  goal (no loss on the FAQ set): hybrid recall@10 {hybrid['recall@10']:.3f} >= baseline "
            f"{before['recall@10']:.3f} and MRR@10 {hybrid['mrr@10']:.3f} >= baseline {before['mrr@10']:.3f}: "
            f"{'met' if keeps else 'NOT met'}"
        ]
    # The agent's hybrid against plain full text and plain vectors (the better of either query path).
    hybrid = figures[f"hybrid, {WHOLE}"]
    alone = [figures[f"{label}, {path}"] for label in list(MODES)[:2] for path in (PREFIX, WHOLE)]
    better = max(f["recall@10"] for f in alone)
    floor = GOAL_RECALL_FACTOR * better
    recall_met = hybrid["recall@10"] >= floor
    best_mrr = max(f["mrr@10"] for f in alone)
    mrr_met = hybrid["mrr@10"] > best_mrr
    return [
        f"  goal recall@10 >= {GOAL_RECALL_FACTOR}x the better alone ({better:.3f} -> floor {floor:.3f}"
        f"{', unreachable above 1.0' if floor > 1 else ''}): hybrid {hybrid['recall@10']:.3f} "
        f"{'met' if recall_met else 'NOT met'}",
        f"  goal MRR@10 above full text and vector alone (best {best_mrr:.3f}): "
        f"hybrid {hybrid['mrr@10']:.3f} {'met' if mrr_met else 'NOT met'}",
    ]


def parse_sets(value: str) -> list[str]:
    chosen = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SETS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose sets among {', '.join(SETS)}, comma-separated (got {value!r})")
    return list(dict.fromkeys(chosen))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", type=parse_sets, default=list(SETS), help=f"comma-separated, among {','.join(SETS)}")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="a --json run of today's code (FAQ no-loss)")
    parser.add_argument("--keep", action="store_true", help="leave the corpus in the benchkbq client")
    args = parser.parse_args()
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: the folder {args.json.parent} does not exist")
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

    baseline = json.loads(args.baseline.read_text()) if args.baseline and args.baseline.exists() else None
    pairs = parse(read(fetch(Path(settings.DATA_DIR) / "bench" / "debian-faq")))
    tickets = load_tickets()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    ensure_public_tenant()
    client = Client.objects.filter(slug="benchkbq").first() or create_client(name="Bench KB quality", slug="benchkbq")
    workdir = Path(tempfile.mkdtemp(prefix="gaby-bench-faq-"))
    output: dict[str, Any] = {"sets": {}}
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
                f"Corpus: Debian FAQ, {len(pairs)} answer sections as documents; model {provider.model}; "
                f"hybrid weighs semantic {SEMANTIC_WEIGHT}"
            )
            print(f"  ingested: {report.summary()} in {time.perf_counter() - started:.1f} s")
            print(f"  long tickets: {summary(tickets)}")
            print(f"  long tickets are searched two ways: {PREFIX} (before) and {WHOLE}")
            output.update(model=provider.model, semantic_weight=SEMANTIC_WEIGHT)
            uri_of = {pk: Path(uri).name for pk, uri in Document.objects.values_list("id", "uri")}
            for name in args.sets:
                queries = queries_for(name, pairs, tickets)
                paths: dict[str, Callable[[str], str]] = (
                    {"": str.strip} if name == "faq" else {PREFIX: prefix_query, WHOLE: ticket_query}
                )
                print(f"\nSet {name}: {len(queries)} queries; document-level figures")
                figures, per_query = {}, {}
                for path, as_query in paths.items():
                    for label, mode in MODES.items():
                        row = f"{label}, {path}" if path else label
                        found = ranks(queries, uri_of, search, mode, as_query)
                        figures[row] = scores(found)
                        per_query[row] = {query.id: rank for query, rank in zip(queries, found, strict=True)}
                        f = figures[row]
                        print(
                            f"  {row:52s} recall@5 {f['recall@5']:.3f}  recall@10 {f['recall@10']:.3f}  "
                            f"MRR@10 {f['mrr@10']:.3f}"
                        )
                for line in goal_lines(name, figures, baseline):
                    print(line)
                output["sets"][name] = {
                    "queries": len(queries),
                    "modes": {  # "hybrid" alone: the FAQ's row (and the baseline file's key)
                        MODES.get(row, row): {k: round(v, 4) for k, v in f.items()} for row, f in figures.items()
                    },
                    "ranks": per_query,  # per query and row: the first relevant document's rank, null past 10
                }
            if not args.keep:
                KnowledgeSource.objects.all().delete()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(output, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
