"""Which adapter serves which kind of source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.tickets.models import TicketSource
from apps.tickets.sources.autotask.adapter import AutotaskAdapter
from apps.tickets.sources.base import SourceAdapter
from apps.tickets.sources.connectwise.adapter import ConnectWiseAdapter
from apps.tickets.sources.email.adapter import EmailAdapter
from apps.tickets.sources.freshdesk.adapter import FreshdeskAdapter
from apps.tickets.sources.github.adapter import GitHubAdapter
from apps.tickets.sources.halopsa.adapter import HaloPSAAdapter
from apps.tickets.sources.linear.adapter import LinearAdapter
from apps.tickets.sources.webhook.adapter import WebhookAdapter
from apps.tickets.sources.zendesk.adapter import ZendeskAdapter
from apps.tickets.sources.zoho.adapter import ZohoDeskAdapter

ADAPTERS: dict[str, type[SourceAdapter]] = {
    adapter.kind: adapter
    for adapter in (
        EmailAdapter,
        WebhookAdapter,
        ZendeskAdapter,
        FreshdeskAdapter,
        ZohoDeskAdapter,
        GitHubAdapter,
        LinearAdapter,
        HaloPSAAdapter,
        ConnectWiseAdapter,
        AutotaskAdapter,
    )
}


def register(adapter: type[SourceAdapter]) -> None:
    """An adapter defined above this app (e.g. apps/chat's Slack/Teams threads), registered by its app's ready()."""
    ADAPTERS[adapter.kind] = adapter


def adapter_class(kind: str) -> type[SourceAdapter]:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"No adapter for sources of kind {kind!r}; known: {', '.join(sorted(ADAPTERS))}.") from None


def adapter_for(source: TicketSource, *, config: Mapping[str, Any]) -> SourceAdapter:
    return adapter_class(source.kind)(source_id=str(source.pk), config=config)
