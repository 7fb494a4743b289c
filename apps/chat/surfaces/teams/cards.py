"""Adaptive Cards Gaby posts in Teams (schema 1.4, what Teams renders): an answer with its sources and buttons, and
an approval with Approve/Reject (``Action.Submit``: Teams sends the card's data back as a message whose ``value`` it
is). Buttons carry ``{"gaby": <verb>, ...}`` so a click is recognised as Gaby's own. A handoff notice is a card too
(who will answer, the ticket if one was opened); operators' replies arrive as the foundation relays them: text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body}
    if actions:
        card["actions"] = actions
    return card


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _action(action: Any) -> dict[str, Any]:
    """A foundation ``Action`` (label, action_id, url, value) as a card button."""
    if getattr(action, "url", ""):
        return {"type": "Action.OpenUrl", "title": action.label, "url": action.url}
    return {"type": "Action.Submit", "title": action.label, "data": {"gaby": action.action_id, "value": action.value}}


def answer(text: str, citations: Sequence[dict[str, Any]] = (), actions: Sequence[Any] = ()) -> dict[str, Any]:
    """The reply, then "Sources" with each citation's number and label (a link when it has a URL)."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": text or "…", "wrap": True}]
    if citations:
        body.append({"type": "TextBlock", "text": "Sources", "weight": "Bolder", "spacing": "Medium"})
        for citation in citations:
            label = str(citation.get("label") or citation.get("document") or "source")
            url = str(citation.get("url") or "")
            line = f"[{citation.get('n', '')}] " + (f"[{label}]({url})" if url.startswith("https://") else label)
            body.append({"type": "TextBlock", "text": line, "wrap": True, "isSubtle": True, "spacing": "None"})
    return _card(body, [_action(a) for a in actions])


def approval(
    *, title: str, reason: str, facts: Sequence[tuple[str, str]], token_approve: str, token_reject: str
) -> dict[str, Any]:
    """Approve/Reject in the card itself; the tokens are the safety app's signed approval-link tokens."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": title, "wrap": True},
        {"type": "TextBlock", "text": reason, "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
        {"type": "Input.Text", "id": "note", "placeholder": "Note (needed to reject)", "isMultiline": True},
    ]
    actions = [
        {"type": "Action.Submit", "title": "Approve", "data": {"gaby": "decide", "token": token_approve}},
        {"type": "Action.Submit", "title": "Reject", "data": {"gaby": "decide", "token": token_reject}},
    ]
    return _card(body, actions)


def handoff(text: str, *, who: str, ticket: str = "") -> dict[str, Any]:
    """The conversation is with a person now (or one is coming): the notice, then who will answer and the ticket."""
    facts = [{"title": "Who will answer", "value": who}]
    if ticket:
        facts.append({"title": "Ticket", "value": ticket})
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": "Handed to the team", "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": text or "…", "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    return _card(body)


def decided(text: str) -> dict[str, Any]:
    return _card([{"type": "TextBlock", "text": text, "wrap": True}])
