"""Knowledge > Embeddings: backend, vectors per model, switching re-embeds what differs; roles and ownership."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.knowledge import services
from apps.knowledge.embeddings import get_provider, provider_for
from apps.knowledge.models import Chunk, EmbeddingSettings, SourceKind, SyncStatus
from apps.knowledge.reembed import model_counts, run_queued_reembed, stale_chunks
from apps.llm.services import save_provider
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.django_db

LOCAL = "sentence-transformers/all-MiniLM-L6-v2"
SCRIPTED = "litellm:openai_compatible/text-embedding-3-small@384"


@pytest.fixture
def indexed(hartwell: Any, runbooks: Path, llm: ScriptedLLM) -> dict[str, Any]:
    with tenant_context(hartwell):
        source = services.create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
        services.sync_now(source=source)
        embedder = save_provider(
            client=hartwell, name="embedder", kind="openai_compatible", api_base=llm.base_url, credentials={}
        )
        chunks = Chunk.objects.count()
    return {"source": source, "embedder": embedder, "chunks": chunks}


def test_alice_switches_to_a_litellm_model_and_only_differing_chunks_are_re_embedded(
    as_user: Any, hartwell: Any, indexed: dict[str, Any], llm: ScriptedLLM
) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/knowledge/embeddings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="embedding-form"' in html and LOCAL in html
    assert f"<td>{indexed['chunks']}</td>" in html  # every chunk is embedded with MiniLM

    response = alice.post(
        "/knowledge/embeddings/choose/",
        {"backend": "litellm", "provider": str(indexed["embedder"].pk), "model": "text-embedding-3-small"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Re-embedding queued" in response.content.decode() and SCRIPTED in response.content.decode()
    assert f"{indexed['chunks']} chunks still need a vector of the current model" in response.content.decode()
    with tenant_context(hartwell):
        row = EmbeddingSettings.objects.get()
        assert row.reembed_status == SyncStatus.QUEUED
        assert stale_chunks(get_provider()).count() == indexed["chunks"]
        assert run_queued_reembed() == indexed["chunks"]  # the worker's half, in this process
        assert run_queued_reembed() is None  # claimed once: a second delivery does nothing
        assert set(Chunk.objects.values_list("embedding_model", flat=True)) == {SCRIPTED}
        assert len(llm.embedding_requests) == 1  # one batch, only the chunks' texts
        row.refresh_from_db()
        assert (row.reembed_status, row.reembed_done, row.reembed_total) == ("ok", indexed["chunks"], indexed["chunks"])
        assert [(c.model, c.chunks, c.current) for c in model_counts(get_provider())] == [
            (SCRIPTED, indexed["chunks"], True)
        ]
    html = alice.get("/knowledge/embeddings/").content.decode()
    assert f"Re-embedded {indexed['chunks']} chunks" in html and "Every chunk has a vector of the current model" in html

    # Back to the default: MiniLM's vectors come from the embedding cache, the model embeds nothing.
    local = provider_for("local")
    before = local.texts_embedded
    alice.post("/knowledge/embeddings/choose/", {"backend": "default", "model": ""})
    with tenant_context(hartwell):
        assert run_queued_reembed() == 0
        assert local.texts_embedded == before
        assert set(Chunk.objects.values_list("embedding_model", flat=True)) == {LOCAL}


def test_bad_input_says_what_to_fix(as_user: Any, indexed: dict[str, Any]) -> None:
    alice = as_user("alice", "hartwell")
    response = alice.post("/knowledge/embeddings/choose/", {"backend": "litellm", "model": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "need one of this client&#x27;s LLM providers and a model name" in response.content.decode()


def test_choosing_none_queues_nothing_and_search_stays_full_text(
    as_user: Any, hartwell: Any, indexed: dict[str, Any]
) -> None:
    as_user("alice", "hartwell").post("/knowledge/embeddings/choose/", {"backend": "none"})
    with tenant_context(hartwell):
        assert EmbeddingSettings.objects.get().reembed_status == SyncStatus.IDLE
        assert get_provider().name == "none"


def test_bob_sees_the_page_but_cannot_change_it(as_user: Any, hartwell: Any, indexed: dict[str, Any]) -> None:
    bob = as_user("bob", "hartwell")
    html = bob.get("/knowledge/embeddings/").content.decode()
    assert 'data-testid="admin-only"' in html and 'data-testid="embedding-form"' not in html
    assert bob.post("/knowledge/embeddings/choose/", {"backend": "none"}).status_code == 403
    assert bob.post("/knowledge/embeddings/reembed/").status_code == 403
    with tenant_context(hartwell):
        assert not EmbeddingSettings.objects.exists()


def test_carol_can_neither_see_nor_change_hartwells(as_user: Any, hartwell: Any, indexed: dict[str, Any]) -> None:
    carol = as_user("carol", "hartwell")
    assert carol.get("/knowledge/embeddings/").status_code == 403
    assert carol.post("/knowledge/embeddings/choose/", {"backend": "none"}).status_code == 403
    assert carol.post("/knowledge/embeddings/reembed/").status_code == 403
    with tenant_context(hartwell):
        assert not EmbeddingSettings.objects.exists()
    own = as_user("carol", "dearborn").get("/knowledge/embeddings/").content.decode()
    assert "No chunks yet" in own  # Dearborn's page counts Dearborn's chunks only


def test_the_cli_queues_the_same_re_embed(hartwell: Any, indexed: dict[str, Any], capsys: Any) -> None:
    call_command(
        "gaby",
        "kb-embeddings",
        "--client",
        "hartwell",
        "--backend",
        "litellm",
        "--provider",
        "embedder",
        "--model",
        "text-embedding-3-small",
    )
    assert "queued for re-embedding" in capsys.readouterr().out
    with tenant_context(hartwell):
        assert EmbeddingSettings.objects.get().reembed_status == SyncStatus.QUEUED
