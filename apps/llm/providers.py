"""How each provider kind is reached through litellm: model prefix, endpoint and credentials."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apps.core.outbound import OutboundRefused, check_url
from apps.core.secrets import unseal_json
from apps.llm.models import LLMProvider, ProviderKind
from tenants.models import Client

PREFIX = {
    ProviderKind.OPENAI: "openai",
    ProviderKind.ANTHROPIC: "anthropic",
    ProviderKind.AZURE: "azure",
    ProviderKind.BEDROCK: "bedrock",
    ProviderKind.VERTEX: "vertex_ai",
    ProviderKind.OLLAMA: "ollama_chat",
    ProviderKind.VLLM: "hosted_vllm",
    ProviderKind.LLAMACPP: "openai",  # llama.cpp's server speaks the OpenAI API
    ProviderKind.OPENAI_COMPATIBLE: "openai",
}
NEEDS_BASE = {
    ProviderKind.OLLAMA,
    ProviderKind.VLLM,
    ProviderKind.LLAMACPP,
    ProviderKind.OPENAI_COMPATIBLE,
    ProviderKind.AZURE,
}
CREDENTIAL_FIELDS = {
    ProviderKind.BEDROCK: ("aws_access_key_id", "aws_secret_access_key"),
    ProviderKind.VERTEX: ("vertex_credentials",),
}


def check_api_base(api_base: str) -> None:
    """The outbound-URL policy (apps/core/outbound.py) when a provider is saved: a base URL that resolves to
    loopback, a private or a metadata address is refused unless the operator allowed it. litellm does the
    connecting, so the gateway checks again before every call (``apps.llm.gateway``)."""
    if not api_base:
        return
    try:
        check_url(api_base)
    except OutboundRefused as exc:
        raise ValidationError({"api_base": str(exc)}) from None


def credentials_purpose(provider: LLMProvider) -> str:
    return f"llm-provider:{provider.pk}"


def litellm_arguments(client: Client, provider: LLMProvider, model: str) -> dict[str, Any]:
    """Keyword arguments for litellm.completion, credentials included (never logged)."""
    kind = ProviderKind(provider.kind)
    arguments: dict[str, Any] = {"model": f"{PREFIX[kind]}/{model}"}
    if provider.api_base:
        arguments["api_base"] = provider.api_base
    secrets = (
        unseal_json(client, provider.sealed_credentials, purpose=credentials_purpose(provider))
        if provider.sealed_credentials
        else {}
    )
    for field in CREDENTIAL_FIELDS.get(kind, ("api_key",)):
        if secrets.get(field):
            arguments[field] = secrets[field]
    if kind in {ProviderKind.LLAMACPP, ProviderKind.OPENAI_COMPATIBLE, ProviderKind.OLLAMA, ProviderKind.VLLM}:
        arguments.setdefault("api_key", "not-needed")  # local servers ignore it; the OpenAI client wants one
    for option in ("api_version", "aws_region_name", "vertex_project", "vertex_location"):
        if provider.options.get(option):
            arguments[option] = provider.options[option]
    return arguments
