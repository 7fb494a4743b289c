"""The litellm seam for embeddings (the knowledge base's ``litellm`` backend): the same provider arguments,
compliance check, redaction and monthly quota as completions (apps/llm/gateway.py), and each batch recorded as an
``LLMCall`` (workflow ``embed``) with its tokens and litellm's price, so the cost ledger counts it. The bundled local
model (apps/knowledge/embeddings.py) makes no model call and costs nothing: it is not recorded."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.core.compliance import profile_for
from apps.core.outbound import OutboundRefused, check_url
from apps.llm.budget import LLMError, ProviderNotAllowed
from apps.llm.models import EMBED, CallStatus, LLMCall, LLMProvider
from apps.llm.providers import litellm_arguments
from apps.llm.quota import Quota
from apps.llm.responses import cost_of
from apps.llm.sdk import litellm, provider_errors
from tenants.models import Client


def embed(
    client: Client,
    provider: LLMProvider,
    model: str,
    texts: list[str],
    *,
    dimensions: int,
    quota: Quota | None = None,
) -> list[list[float]]:
    """Vectors for ``texts`` from ``model`` of ``provider``, the texts redacted with the client's profile first.
    ``quota``: the caller's, kept across its batches (a knowledge sync embeds hundreds), so the plan is not read
    again for every batch."""
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
    quota = quota or Quota(client)
    quota.check()
    started = time.monotonic()
    try:
        # drop_params: models that cannot shorten their vectors ignore ``dimensions``; the caller checks the shape.
        response = litellm().embedding(input=inputs, dimensions=dimensions, drop_params=True, timeout=60, **arguments)
    except provider_errors() as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        _record(quota, provider, model, len(inputs), status=CallStatus.ERROR, error=error, started=started)
        raise LLMError(f"Embedding with {provider.name} / {model} failed: {error}") from exc
    tokens, cost = _tokens_of(response), cost_of(response)
    _record(quota, provider, model, len(inputs), status=CallStatus.OK, tokens=tokens, cost=cost, started=started)
    items = sorted(response.data, key=lambda item: item["index"] if isinstance(item, dict) else item.index)
    return [[float(x) for x in (item["embedding"] if isinstance(item, dict) else item.embedding)] for item in items]


def _tokens_of(response: Any) -> int:
    usage = getattr(response, "usage", None)
    if usage is None:
        return 0
    found = usage.get("prompt_tokens") if isinstance(usage, dict) else getattr(usage, "prompt_tokens", 0)
    return int(found or 0)


def _record(
    quota: Quota,
    provider: LLMProvider,
    model: str,
    inputs: int,
    *,
    status: str,
    started: float,
    tokens: int = 0,
    cost: Decimal = Decimal(0),
    error: str = "",
) -> None:
    """One batch as one call: its size, not its texts (they are the knowledge base's, already stored there), and
    its month's rollup row in the same transaction."""
    with transaction.atomic(savepoint=False):  # no savepoint of its own: a failure fails the caller's transaction too
        _create(provider, model, inputs, status=status, started=started, tokens=tokens, cost=cost, error=error)
        quota.add(tokens, cost)


def _create(
    provider: LLMProvider,
    model: str,
    inputs: int,
    *,
    status: str,
    started: float,
    tokens: int,
    cost: Decimal,
    error: str,
) -> None:
    LLMCall.objects.create(
        workflow=EMBED,
        provider_kind=provider.kind,
        provider_name=provider.name,
        model=model,
        prompt_name="embedding",
        prompt_version=1,
        prompt_hash="",
        request_messages=[{"inputs": inputs}],
        input_tokens=tokens,
        cost_usd=cost,
        latency_ms=int((time.monotonic() - started) * 1000),
        status=status,
        error=error[:2000],
    )
