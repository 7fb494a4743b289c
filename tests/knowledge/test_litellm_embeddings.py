"""LiteLLM embeddings per client, for real over HTTP against the scripted OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.knowledge import retrieval, services
from apps.knowledge.embeddings import LiteLLMEmbeddings, get_provider
from apps.knowledge.ingestion import sync_source
from apps.knowledge.models import Chunk
from apps.llm.services import save_provider
from tests.knowledge.conftest import RUNBOOKS, write_tree
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.django_db


@pytest.fixture
def litellm_hartwell(in_hartwell: Any, llm: ScriptedLLM) -> Any:
    provider = save_provider(
        client=in_hartwell,
        name="embedder",
        kind="openai_compatible",
        api_base=llm.base_url,
        credentials={"api_key": "sk-embed-123"},
    )
    services.set_embedding_backend(backend="litellm", provider=provider, model="text-embedding-3-small")
    return in_hartwell


def test_a_client_on_litellm_embeds_through_the_gateway_and_searches_semantically(
    litellm_hartwell: Any, llm: ScriptedLLM, tmp_path: Path
) -> None:
    provider = get_provider()
    assert isinstance(provider, LiteLLMEmbeddings)
    assert provider.model == "litellm:openai_compatible/text-embedding-3-small@384"
    source = services.directory_source_for(path=write_tree(tmp_path / "kb", RUNBOOKS), name="Runbooks")
    report = sync_source(source)
    assert report.chunks_embedded > 0
    assert set(Chunk.objects.values_list("embedding_model", flat=True)) == {provider.model}
    first = llm.embedding_requests[0]
    assert first["model"] == "text-embedding-3-small" and first["dimensions"] == 384
    # Nothing re-embedded on a second sync.
    sent = len(llm.embedding_requests)
    assert sync_source(source).chunks_embedded == 0 and len(llm.embedding_requests) == sent

    result = retrieval.search("tunnel drops when the lease renews", record_usage=False)
    assert result.mode == "hybrid" and "Tunnel drops every hour" in result.hits[0].citation.heading_path
    assert llm.embedding_requests[-1]["input"] == ["tunnel drops when the lease renews"]


def test_texts_are_redacted_before_they_leave(litellm_hartwell: Any, llm: ScriptedLLM) -> None:
    get_provider().embed(["Reset the password of dana@client.example"])
    assert llm.embedding_requests[-1]["input"] == ["Reset the password of [EMAIL_1]"]


def test_the_choice_is_per_client(litellm_hartwell: Any, dearborn: Any) -> None:
    with tenant_context(dearborn):
        assert get_provider().name == "local"
    assert get_provider().name == "litellm"


def test_a_model_of_the_wrong_size_is_refused_before_anything_is_stored(
    litellm_hartwell: Any, llm: ScriptedLLM
) -> None:
    llm.embedding_size = 768  # a model that cannot shorten its vectors to the column's 384
    with pytest.raises(ImproperlyConfigured, match="wrong shape"):
        get_provider().embed(["x"])


def test_the_cli_switches_backends_and_says_what_is_wrong(in_hartwell: Any, llm: ScriptedLLM, capsys: Any) -> None:
    save_provider(client=in_hartwell, name="embedder", kind="openai_compatible", api_base=llm.base_url, credentials={})
    with pytest.raises(Exception, match="no LLM provider named 'nope'"):
        call_command("gaby", "kb-embeddings", "--client", "hartwell", "--backend", "litellm", "--provider", "nope")
    with pytest.raises(Exception, match="need one of this client's LLM providers and a model"):
        call_command("gaby", "kb-embeddings", "--client", "hartwell", "--backend", "litellm", "--provider", "embedder")
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
        "nomic-embed-text",
    )
    assert get_provider().model == "litellm:openai_compatible/nomic-embed-text@384"
    call_command("gaby", "kb-embeddings", "--client", "hartwell", "--backend", "default")
    assert get_provider().name == "local"
