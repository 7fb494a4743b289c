"""Chat events: per-conversation groups for the visitor's widget and operators shadowing it, and the shell's
live group for the console's conversation list.

``conversation_group`` carries ``{"type": "chat.event", "payload": {...}}`` with payloads the widget and
the console both understand: ``message``, ``token`` (one piece of an answer being written), ``state`` and
``offer``. Group names are prefixed by the schema, so another client's sockets never hear them. The live
group gets the conversation's rows (chat console, unified inbox) and the handoff notice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import connection
from django.template.loader import render_to_string

from apps.chat import inbox
from apps.chat.models import ChatMessage, Conversation
from apps.core.channels import tenant_group
from apps.core.live import broadcast, pages_open
from apps.core.publisher import group_send


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
    """To the visitor's sockets and every operator watching; from synchronous code (services, answer threads).
    Handed to the process's publisher (apps/core/publisher.py): in order, without waiting for Redis."""
    group_send(conversation_group(schema or _schema(), conversation_id), {"type": "chat.event", "payload": payload})


def row_html(conversation: Conversation) -> str:
    return render_to_string("chat/console.html#row", {"conversation": conversation})


def announce_row(conversation_id: UUID, *, created: bool) -> None:
    """Insert or refresh the conversation's row on every open chat console and unified inbox of this client.

    In the inbox the row moves to the top (newest activity first): the old one is removed and the new one
    inserted into the first page of every inbox whose filters take it (see apps/chat/inbox.py). Nothing is
    rendered while no page of the client's team is open.
    """
    if not pages_open():
        return
    conversation = inbox.annotated().filter(pk=conversation_id).first()
    if conversation is None:
        return
    html = row_html(conversation)
    payloads: list[dict[str, Any]]
    if created:
        payloads = [{"type": "swap", "target": "#chat-rows", "swap": "afterbegin", "html": html}]
    else:
        payloads = [{"type": "swap", "target": f"#conv-{conversation.pk}", "swap": "outerHTML", "html": html}]
    if getattr(conversation, "visitor_wrote", False):  # annotated by inbox.annotated()
        row = inbox.row_of(conversation)
        inbox_html = render_to_string(row.template, {"row": row})
        payloads.append({"type": "swap", "target": f"#inbox-conv-{conversation.pk}", "swap": "delete", "html": ""})
        payloads += [
            {"type": "swap", "target": target, "swap": "afterbegin", "html": inbox_html}
            for target in inbox.live_targets(row)
        ]
    broadcast(payloads)


def announce_handoff(conversation_id: UUID, *, reason: str) -> None:
    """A visitor asks for a person: a notice on every open page of this client's team (the shell's messages)."""
    conversation = (
        Conversation.objects.select_related("widget", "install").filter(pk=conversation_id).first()
        if pages_open()
        else None
    )
    if conversation is None:
        return
    html = render_to_string("chat/inbox_row.html#toast", {"conversation": conversation, "reason": reason})
    broadcast(
        [
            {
                "type": "swap",
                "target": "#messages",
                "swap": "beforeend",
                "html": html,
                "event": "handoff",
                "conversation": str(conversation.pk),
            }
        ]
    )
