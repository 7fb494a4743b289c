"""Live progress (a source's sync, a re-embed): a partial, re-rendered and pushed over the shell's socket."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from apps.knowledge.models import KnowledgeSource
from apps.knowledge.tenancy import current_schema
from tenants.channels import tenant_group

log = logging.getLogger(__name__)


def status_html(source: KnowledgeSource) -> str:
    return render_to_string("knowledge/sources.html#source-status", {"source": source})


def broadcast_source(source: KnowledgeSource) -> None:
    """Swap ``#source-status-<id>`` on every open page of this client; never fails the caller."""
    broadcast_html(f"#source-status-{source.pk}", status_html(source))


def broadcast_html(target: str, html: str) -> None:
    """Swap ``target`` with ``html`` on every open page of this client; never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    payload = {"type": "swap", "target": target, "html": html}
    try:
        async_to_sync(layer.group_send)(
            tenant_group(current_schema(), "live"), {"type": "live.event", "payload": payload}
        )
    except Exception:  # a missed progress update must never break a sync
        log.warning("could not broadcast knowledge progress", exc_info=True)
