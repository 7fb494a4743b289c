"""The litellm seam for embeddings (the knowledge base's ``litellm`` backend): the same provider arguments,
compliance check and redaction as completions (apps/llm/gateway.py)."""

from __future__ import annotations

from apps.core.compliance import profile_for
from apps.core.outbound import OutboundRefused, check_url
from apps.llm.budget import LLMError, ProviderNotAllowed
from apps.llm.models import LLMProvider
from apps.llm.providers import litellm_arguments
from apps.llm.sdk import litellm, provider_errors
from tenants.models import Client


def embed(client: Client, provider: LLMProvider, model: str, texts: list[str], *, dimensions: int) -> list[list[float]]:
    """Vectors for ``texts`` from ``model`` of ``provider``, the texts redacted with the client's profile first."""
    profile = profile_for(client)
    if not profile.allows_provider(provider.kind):
        raise ProviderNotAllowed(
            f"{client.name}'s {profile.name} compliance profile does not allow {provider.get_kind_display()}."
        )
    if provider.api_base:
        try:
            check_url(provider.api_base)
        except OutboundRefused as exc:
            raise LLMError(f"Embedding with {provider.name} / {model} refused: {exc}") from None
    arguments = litellm_arguments(client, provider, model)
    if provider.kind == "ollama":
        arguments["model"] = f"ollama/{model}"  # embeddings use the plain prefix, chat uses ollama_chat
    redactor = profile.redactor
    inputs = [redactor.redact(text).text for text in texts]
    try:
        # drop_params: models that cannot shorten their vectors ignore ``dimensions``; the caller checks the shape.
        response = litellm().embedding(input=inputs, dimensions=dimensions, drop_params=True, timeout=60, **arguments)
    except provider_errors() as exc:
        raise LLMError(f"Embedding with {provider.name} / {model} failed: {exc.__class__.__name__}: {exc}") from exc
    items = sorted(response.data, key=lambda item: item["index"] if isinstance(item, dict) else item.index)
    return [[float(x) for x in (item["embedding"] if isinstance(item, dict) else item.embedding)] for item in items]
