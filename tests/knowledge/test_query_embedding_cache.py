"""A query's vector is computed once: playbook matching and knowledge search both embed the ticket's text, and
the second reader must reuse the first's vector. Counted with the real local MiniLM provider's own counters."""

from __future__ import annotations

from typing import Any

from apps.knowledge.embeddings import LocalMiniLM


def test_the_same_query_text_is_embedded_once(provider: Any) -> None:
    text = "Which plan is customer 1 on? (query cache test)"
    calls, texts = provider.calls, provider.texts_embedded
    first = provider.embed_query(text)
    assert (provider.calls, provider.texts_embedded) == (calls + 1, texts + 1)
    second = provider.embed_query(text)
    assert (provider.calls, provider.texts_embedded) == (calls + 1, texts + 1)  # the model did not run again
    assert second == first and second is not first  # a copy: a caller editing its vector cannot poison the cache
    provider.embed_query(text + " — and another question")
    assert provider.calls == calls + 2


def test_bulk_embedding_is_never_served_from_the_query_cache(provider: Any) -> None:
    text = "A chunk of a runbook, embedded by a sync (query cache test)."
    provider.embed_query(text)
    calls = provider.calls
    provider.embed([text])
    assert provider.calls == calls + 1


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(provider: Any) -> None:
    small = LocalMiniLM(batch_size=8)
    small._runtime = provider._load()  # the same loaded model, a fresh cache and fresh counters
    small.query_cache_size = 2
    small.embed_query("alpha")
    small.embed_query("beta")
    small.embed_query("alpha")  # alpha is now the most recent
    small.embed_query("gamma")  # evicts beta
    assert small.calls == 3 and small.query_cache_hits == 1
    small.embed_query("alpha")
    assert small.calls == 3
    small.embed_query("beta")
    assert small.calls == 4 and len(small._query_cache) == 2
