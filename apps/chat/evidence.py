"""What the operator taking a conversation over sees besides the transcript (§8.1: "not a cold start"): the
knowledge passages Gaby cited, with how sure retrieval was, and the investigations of the ticket the
conversation became, if any."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.agent.models import Investigation
from apps.chat.models import ChatMessage, Conversation, Role


@dataclass
class CitedPassage:
    label: str
    url: str
    document: str
    times: int = 0
    best_confidence: float | None = None


@dataclass
class Evidence:
    passages: list[CitedPassage] = field(default_factory=list)
    uncited_answers: int = 0  # Gaby's answers citing nothing (unsure ones offer a person)
    investigations: list[Investigation] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.passages or self.uncited_answers or self.investigations)


def evidence_for(conversation: Conversation, messages: list[ChatMessage]) -> Evidence:
    """From the transcript already loaded (no query) and, when the conversation became a ticket, one query."""
    found: dict[tuple[str, str], CitedPassage] = {}
    uncited = 0
    for message in messages:
        if message.role != Role.GABY:
            continue
        if not message.citations:
            uncited += 1
        for citation in message.citations:
            key = (str(citation.get("label", "")), str(citation.get("url", "")))
            passage = found.setdefault(key, CitedPassage(key[0], key[1], str(citation.get("document", ""))))
            passage.times += 1
            passage.best_confidence = _best(passage.best_confidence, message.confidence)
    investigations: list[Investigation] = []
    if conversation.ticket_id is not None:
        investigations = list(Investigation.objects.filter(ticket_id=conversation.ticket_id).order_by("-created_at"))
    return Evidence(passages=list(found.values()), uncited_answers=uncited, investigations=investigations)


def _best(current: float | None, new: Any) -> float | None:
    if new is None:
        return current
    return float(new) if current is None else max(current, float(new))
