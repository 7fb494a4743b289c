"""Chat events: per-conversation groups for the visitor's widget and operators shadowing it, and the shell's
live group for the console's conversation list.

``conversation_group`` carries ``{"type": "chat.event", "payload": {...}}`` with payloads the widget and
the console both understand: ``message``, ``token`` (one piece of an answer being written), ``state`` and
``offer``. Group names are prefixed by the schema, so another client's sockets never hear them.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.template.loader import render_to_string

from apps.chat.models import ChatMessage, Conversation
from tenants.channels import tenant_group

log = logging.getLogger(__name__)


def conversation_group(schema: str, conversation_id: UUID | str) -> str:
    return tenant_group(schema, f"chat.{conversation_id}")


def _schema() -> str:
    return str(connection.schema_name)  # type: ignore[attr-defined]


def message_payload(message: ChatMessage, *, stream: str = "", offer: str = "") -> dict[str, Any]:
    return {
        "type": "message",
        "id": str(message.pk),
        "role": message.role,
        "author": message.author_label,
        "body": message.body,
        "citations": message.citations,
        "at": message.created_at.isoformat(),
        **({"stream": stream} if stream else {}),
        **({"offer": offer} if offer else {}),
    }


def send(conversation_id: UUID | str, payload: dict[str, Any], *, schema: str | None = None) -> None:
    """To the visitor's sockets and every operator watching; from synchronous code (services, answer threads)."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = conversation_group(schema or _schema(), conversation_id)
    try:
        async_to_sync(layer.group_send)(group, {"type": "chat.event", "payload": payload})
    except Exception:  # a live event is a courtesy: the row is committed and shows on reload
        log.warning("chat event not sent", exc_info=True)


def row_html(conversation: Conversation) -> str:
    return render_to_string("chat/console.html#row", {"conversation": conversation})


def announce_row(conversation_id: UUID, *, created: bool) -> None:
    """Insert or refresh the conversation's row on every open console of this client."""
    conversation = Conversation.objects.select_related("widget").filter(pk=conversation_id).first()
    layer = get_channel_layer()
    if conversation is None or layer is None:
        return
    html = row_html(conversation)
    if created:
        payload = {"type": "swap", "target": "#chat-rows", "swap": "afterbegin", "html": html}
    else:
        payload = {"type": "swap", "target": f"#conv-{conversation.pk}", "swap": "outerHTML", "html": html}
    try:
        async_to_sync(layer.group_send)(tenant_group(_schema(), "live"), {"type": "live.event", "payload": payload})
    except Exception:
        log.warning("chat console event not sent", exc_info=True)
