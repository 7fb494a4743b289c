"""A conversation as Markdown (to read or paste) or JSON (to process), with citations and ratings."""

from __future__ import annotations

import json
from typing import Any

from apps.chat.models import Conversation


def as_dict(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": str(conversation.pk),
        "widget": conversation.widget.name if conversation.widget is not None else None,
        "surface": conversation.surface,
        "channel": conversation.channel_label,
        "state": conversation.state,
        "visitor": {
            "id": conversation.visitor_id,
            "email": conversation.visitor_email,
            "name": conversation.visitor_name,
            "verified": conversation.identity_verified,
        },
        "origin": conversation.origin,
        "started_at": conversation.created_at.isoformat(),
        "ticket_id": str(conversation.ticket_id) if conversation.ticket_id else None,
        "csat": {"rating": conversation.csat_rating, "comment": conversation.csat_comment},
        "messages": [
            {
                "id": str(m.pk),
                "at": m.created_at.isoformat(),
                "role": m.role,
                "author": m.author_label,
                "body": m.body,
                "citations": m.citations,
                "confidence": m.confidence,
                "mode": m.answer_mode,
            }
            for m in conversation.messages.order_by("created_at", "id")
        ],
    }


def as_json(conversation: Conversation) -> str:
    return json.dumps(as_dict(conversation), indent=2, ensure_ascii=False)


def as_markdown(conversation: Conversation) -> str:
    data = as_dict(conversation)
    lines = [
        f"# Chat with {conversation.visitor_label}",
        "",
        f"- Widget: {data['widget']}",
        f"- Started: {data['started_at']}",
        f"- State: {conversation.get_state_display()}",
    ]
    if conversation.csat_rating:
        lines.append(f"- Rating: {conversation.csat_rating}/5 {conversation.csat_comment}".rstrip())
    lines.append("")
    for message in data["messages"]:
        who = message["author"] or message["role"].title()
        lines += [f"**{who}** ({message['at'][:19].replace('T', ' ')}):", "", message["body"], ""]
        for cite in message["citations"]:
            link = f" <{cite['url']}>" if cite.get("url") else ""
            lines.append(f"> [{cite['n']}] {cite['label']}{link}")
        if message["citations"]:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
