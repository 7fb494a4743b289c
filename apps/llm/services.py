"""Configuring models for a client: providers (keys sealed) and per-workflow routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.core.secrets import seal_json
from apps.llm.models import LLMProvider, ModelRoute, ProviderKind, Workflow
from apps.llm.providers import NEEDS_BASE, check_api_base, credentials_purpose
from tenants.models import Client


@transaction.atomic
def save_provider(
    *,
    client: Client,
    name: str,
    kind: str,
    api_base: str = "",
    credentials: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    actor: User | None = None,
    provider: LLMProvider | None = None,
) -> LLMProvider:
    """Create or update a provider. ``credentials=None`` keeps the stored ones; ``{}`` clears them."""
    if kind not in ProviderKind.values:
        raise ValidationError({"kind": f"Pick one of: {', '.join(ProviderKind.values)}."})
    if kind in NEEDS_BASE and not api_base:
        raise ValidationError(
            {"api_base": f"{ProviderKind(kind).label} needs its base URL, e.g. http://localhost:11434."}
        )
    check_api_base(api_base)
    provider = provider or LLMProvider()
    provider.name, provider.kind, provider.api_base, provider.options = name.strip(), kind, api_base, options or {}
    provider.save()
    if credentials is not None:
        clean = {key: value for key, value in credentials.items() if value}
        provider.sealed_credentials = seal_json(client, clean, purpose=credentials_purpose(provider)) if clean else ""
        provider.save(update_fields=["sealed_credentials"])
    record(
        event="llm.provider_saved",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={
            "provider": provider.name,
            "kind": kind,
            "api_base": api_base,
            "credentials_changed": credentials is not None,
        },
    )
    return provider


@transaction.atomic
def set_route(
    *,
    workflow: str,
    provider: LLMProvider,
    model: str,
    fallbacks: Sequence[tuple[LLMProvider, str]] = (),
    max_output_tokens: int = 1024,
    temperature: float = 0.2,
    timeout_seconds: int = 60,
    actor: User | None = None,
) -> ModelRoute:
    if workflow not in Workflow.values:
        raise ValidationError({"workflow": f"Pick one of: {', '.join(Workflow.values)}."})
    if not model.strip():
        raise ValidationError({"model": "Name the model, e.g. gpt-4o-mini or llama3.1:8b."})
    route, _ = ModelRoute.objects.update_or_create(
        workflow=workflow,
        defaults={
            "provider": provider,
            "model": model.strip(),
            "max_output_tokens": max_output_tokens,
            "temperature": temperature,
            "timeout_seconds": timeout_seconds,
            "fallbacks": [{"provider": str(p.pk), "model": m} for p, m in fallbacks],
        },
    )
    record(
        event="llm.route_set",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={
            "workflow": workflow,
            "provider": provider.name,
            "model": route.model,
            "fallbacks": [f"{p.name}/{m}" for p, m in fallbacks],
        },
    )
    return route


@transaction.atomic
def set_provider_enabled(*, provider: LLMProvider, enabled: bool, actor: User | None = None) -> LLMProvider:
    """A disabled provider is skipped by every route and fallback until enabled again."""
    provider.enabled = enabled
    provider.save(update_fields=["enabled"])
    record(
        event="llm.provider_enabled" if enabled else "llm.provider_disabled",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"provider": provider.name},
    )
    return provider


@transaction.atomic
def clear_route(*, workflow: str, actor: User | None = None) -> None:
    """Without a route the workflow runs in no-LLM mode (knowledge answers and playbooks)."""
    deleted, _ = ModelRoute.objects.filter(workflow=workflow).delete()
    if deleted:
        record(
            event="llm.route_cleared",
            actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
            actor_id=actor.pk if actor else "",
            payload={"workflow": workflow},
        )
