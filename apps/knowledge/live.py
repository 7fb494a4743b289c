"""Live progress (a source's sync, a re-embed): a partial, re-rendered and pushed over the shell's socket."""

from __future__ import annotations

from django.template.loader import render_to_string

from apps.core.live import broadcast, pages_open
from apps.knowledge.models import KnowledgeSource


def status_html(source: KnowledgeSource) -> str:
    return render_to_string("knowledge/sources.html#source-status", {"source": source})


def broadcast_source(source: KnowledgeSource) -> None:
    """Swap ``#source-status-<id>`` on every open page of this client; never fails the caller."""
    if pages_open():
        broadcast_html(f"#source-status-{source.pk}", status_html(source))


def broadcast_html(target: str, html: str) -> None:
    """Swap ``target`` with ``html`` on every open page of this client; never fails the caller."""
    broadcast([{"type": "swap", "target": target, "html": html}])
