"""Vectors for chunk texts, embedding only what no earlier sync already embedded (KB-3).

Lookup order for each text hash: a vector the caller can reuse (the document's own unchanged
chunk), then the client's embedding cache (identical text anywhere in this client's knowledge,
including deleted documents), and only then the model, in batches; new vectors go to the cache.
"""

from __future__ import annotations

from collections.abc import Mapping

from apps.knowledge.embeddings import EmbeddingProvider, Vector
from apps.knowledge.models import EmbeddingCacheEntry


def vectors_for(
    provider: EmbeddingProvider, texts: Mapping[str, str], *, known: Mapping[str, Vector] | None = None
) -> tuple[dict[str, Vector], int]:
    """``{hash: vector}`` for every hash of ``texts`` (``{hash: text}``), and how many were embedded now."""
    if not provider.enabled or not texts:
        return {}, 0
    vectors: dict[str, Vector] = {h: v for h, v in (known or {}).items() if h in texts}
    missing = [h for h in texts if h not in vectors]
    if missing:
        cached = EmbeddingCacheEntry.objects.filter(model=provider.model, content_hash__in=missing)
        for hash_, embedding in cached.values_list("content_hash", "embedding"):
            vectors[hash_] = [float(x) for x in embedding]
    to_embed = [h for h in texts if h not in vectors]
    if to_embed:
        fresh = provider.embed([texts[h] for h in to_embed])
        EmbeddingCacheEntry.objects.bulk_create(
            [
                EmbeddingCacheEntry(model=provider.model, content_hash=h, embedding=v)
                for h, v in zip(to_embed, fresh, strict=True)
            ],
            ignore_conflicts=True,
        )
        vectors.update(zip(to_embed, fresh, strict=True))
    return vectors, len(to_embed)
