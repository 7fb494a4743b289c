"""No-LLM mode (DESIGN.md §6): answer a question from the best knowledge passages when confident enough, else escalate.

Only questions reach this decider (apps/agent/triage.py decides the kind first). The confidence is a passage's
retrieval confidence (``context.passage_confidence``: cosine similarity and query-word coverage, in [0, 1]);
the client's threshold (``AgentSettings.knowledge_threshold``) and the abstain band (the passage must stand clear of
the next page, apps/agent/knowledge_confidence.py) decide. A ticket that asks several questions gets
each part answered from its own passage with its own citation, or escalates naming the part nothing answers: a
half answer is not an answer. A part is searched alone and after the title; when that is not confident enough, after
the sentence before it too, which may raise the confidence of the page the part points at ("And can I do it myself?"
is about what that sentence names) but never choose another page; a part that asks us to do something ("can you
please turn my user on again?") is never answered with a page. The reply quotes the passages, in the client's tone,
and cites them; nothing is invented.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from apps.agent.contracts import Finding, InvestigationContext, Passage, StepKind, Tone, Verdict
from apps.agent.knowledge_confidence import Pick, page_of, pick, shortfall
from apps.agent.playbooks.request_kind import asks_us_to_act

MAX_QUOTE = 1200
MAX_PARTS = 3
MIN_PART_WORDS = 4  # "Any idea?", "Can you help?": asking sentences that carry no question of their own
OPENINGS = {
    Tone.FORMAL: "Dear {name},\n\nThank you for contacting us. Our documentation ({label}) says:",
    Tone.FRIENDLY: "Hi {name},\n\nThanks for reaching out! Here is what our guide ({label}) says:",
    Tone.TECHNICAL: "Hi {name},\n\nPer {label}:",
}
PART_OPENINGS = {
    Tone.FORMAL: "Dear {name},\n\nThank you for contacting us. You asked {count} things; our documentation says:",
    Tone.FRIENDLY: "Hi {name},\n\nThanks for reaching out! You asked {count} things, so here is each answer:",
    Tone.TECHNICAL: "Hi {name},\n\n{count} questions, {count} answers:",
}
CLOSINGS = {
    Tone.FORMAL: "If this does not resolve the matter, please reply and a member of our team will assist you.\n\n"
    "Kind regards,\nSupport",
    Tone.FRIENDLY: "If that doesn't sort it out, just reply and one of us will take a look.\n\nCheers,\nSupport",
    Tone.TECHNICAL: "If the issue persists, reply with what you see and we will dig further.\n\nSupport",
}
_CONTENT_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
# Words that carry no question of their own ("can you help with this?").
_FILLER = frozenset(
    [
        "the",
        "and",
        "you",
        "can",
        "could",
        "would",
        "will",
        "for",
        "with",
        "this",
        "that",
        "are",
        "any",
        "our",
        "your",
        "have",
        "has",
        "please",
        "help",
        "thanks",
        "thank",
        "there",
        "what",
        "how",
    ]
)


def _quote(passage: Passage) -> str:
    lines = [line for line in passage.text.strip().splitlines() if not line.startswith("#")]
    text = "\n".join(lines).strip() or passage.text.strip()
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"


def _source(passage: Passage) -> str:
    return f"Source: {passage.citation.label}" + (f" — {passage.citation.url}" if passage.citation.url else "")


def compose_reply(context: InvestigationContext, passage: Passage) -> str:
    name = context.ticket.contact_name or "there"
    opening = OPENINGS[context.tone].format(name=name, label=passage.citation.label)
    return f"{opening}\n\n{_quote(passage)}\n\n{_source(passage)}\n\n{CLOSINGS[context.tone]}"


def compose_parts(context: InvestigationContext, answers: Sequence[tuple[str, Passage]]) -> str:
    name = context.ticket.contact_name or "there"
    sections = [PART_OPENINGS[context.tone].format(name=name, count=len(answers))]
    for number, (question, passage) in enumerate(answers, start=1):
        sections.append(f"{number}. “{question.strip()}”\n\n{_quote(passage)}\n\n{_source(passage)}")
    return "\n\n".join([*sections, CLOSINGS[context.tone]])


def _content_words(text: str) -> list[str]:
    return [w for w in _CONTENT_WORD.findall(text.lower()) if w not in _FILLER]


def question_parts(questions: Sequence[str]) -> list[str]:
    """The asking sentences that carry a question of their own (distinct, at most ``MAX_PARTS``)."""
    parts: list[str] = []
    for question in questions:
        words = _content_words(question)
        if len(words) >= MIN_PART_WORDS and question.strip() not in parts:
            parts.append(question.strip())
    return parts[:MAX_PARTS]


def _escalate(reason: str, passages: Sequence[Passage], confidence: float) -> Finding:
    return Finding(
        verdict=Verdict.NEEDS_L2,
        summary=f"{reason} A person should take this ticket.",
        citations=[p.citation for p in passages[:3]],
        confidence=confidence,
        escalation_reason=reason,
        decided_by="knowledge",
    )


def _best_for(context: InvestigationContext, queries: Sequence[str], limit: int) -> Pick:
    """The passages of whichever query found the most confident one: a long email's question sentence often
    finds its page where the whole rambling text does not, and the other way round."""
    best = pick(())
    for query in dict.fromkeys(q.strip() for q in queries if q.strip()):
        found = pick(context.search_knowledge(query, limit=limit))
        if found.best is not None and (best.best is None or found.score > best.score):
            best = found
    return best


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")


def _preceding(text: str, part: str) -> str:
    """The sentence before ``part`` in the ticket: "And can I do it myself?" is about what that sentence names."""
    flat = " ".join(text.split())
    at = flat.find(" ".join(part.split()))
    if at <= 0:
        return ""
    before = [s for s in _SENTENCE_END.split(flat[:at].strip()) if s.strip()]
    return before[-1] if before else ""


def _with_preceding(context: InvestigationContext, part: str, found: Pick, threshold: float) -> Pick:
    """A part no passage answers confidently, searched again after the sentence before it. The context may only
    raise the confidence of the page the part already points at ("can I do it myself?" → the plans page), never
    pick another one: "and why does the coffee machine hum?" after a VPN question is not about the VPN page."""
    preceding = _preceding(context.ticket.text, part)
    if not preceding or found.best is None or not shortfall(found, threshold):
        return found
    again = pick(context.search_knowledge(f"{preceding} {part}", limit=5))
    if again.best is None or page_of(again.best) != page_of(found.best) or again.score <= found.score:
        return found
    own = set(_content_words(part)) & set(_content_words(again.best.text))
    return again if own else found  # the part names nothing the page speaks of: context alone is not an answer


def _weighed(context: InvestigationContext, picks: Sequence[tuple[str, Pick]], threshold: float) -> None:
    """The timeline step an operator reads to see why the help center answered or did not: each question's best
    page, its confidence, and how far it stood ahead of the next page."""
    context.record(
        StepKind.READ,
        system="knowledge",
        title="Weighed the knowledge answer",
        data={
            "threshold": threshold,
            "parts": [{"question": question[:200], **found.as_dict()} for question, found in picks],
        },
    )


def _answer_parts(context: InvestigationContext, parts: list[str], threshold: float) -> Finding:
    answers: list[tuple[str, Passage]] = []
    picks: list[tuple[str, Pick]] = []
    for part in parts:
        ask = asks_us_to_act(part)
        if ask:  # a help page does not do what was asked ("can you please turn my user on again?")
            _weighed(context, picks, threshold)
            return _escalate(
                f"The ticket asks {len(parts)} questions and “{part}” asks us to act ({ask!r}), which no playbook did.",
                [p for _, p in answers],
                0.0,
            )
        found = _best_for(context, [part, f"{context.ticket.title}: {part}"], 5)
        found = _with_preceding(context, part, found, threshold)
        picks.append((part, found))
        short = shortfall(found, threshold)
        if short or found.best is None:
            _weighed(context, picks, threshold)
            return _escalate(
                f"The ticket asks {len(parts)} questions and no knowledge passage is confident enough for “{part}” "
                f"({short}).",
                [p for _, p in answers] + list(found.passages[:3]),
                found.score,
            )
        answers.append((part, found.best))
    _weighed(context, picks, threshold)
    distinct = list({passage.citation.ref: (question, passage) for question, passage in answers}.values())
    if len(distinct) == 1:  # one passage answers every part: a single answer reads better
        return _answered(context, distinct[0][1], threshold)
    labels = ", ".join(passage.citation.label for _, passage in distinct)
    confidence = min(passage.score for _, passage in distinct)
    return Finding(
        verdict=Verdict.AUTO_RESOLVED,
        summary=f"Answered {len(distinct)} questions from knowledge: {labels} (lowest confidence {confidence:.2f} "
        f"≥ {threshold:.2f}).",
        reply=compose_parts(context, distinct),
        citations=[passage.citation for _, passage in distinct],
        confidence=confidence,
        decided_by="knowledge",
    )


def _answered(context: InvestigationContext, best: Passage, threshold: float) -> Finding:
    return Finding(
        verdict=Verdict.AUTO_RESOLVED,
        summary=f"Answered from knowledge: {best.citation.label} (confidence {best.score:.2f} ≥ {threshold:.2f}).",
        reply=compose_reply(context, best),
        citations=[best.citation],
        confidence=best.score,
        decided_by="knowledge",
    )


def answer_from_knowledge(context: InvestigationContext, *, threshold: float, questions: Sequence[str] = ()) -> Finding:
    """``questions``: the ticket's asking sentences (apps/agent/triage.py); two or more are answered part by part."""
    parts = question_parts(questions)
    if len(parts) >= 2:
        return _answer_parts(context, parts, threshold)
    found = _best_for(context, [context.ticket.text, *parts], 5)
    _weighed(context, [(parts[0] if parts else context.ticket.title, found)], threshold)
    short = shortfall(found, threshold)
    if short or found.best is None:
        reason = f"No knowledge passage is confident enough to answer ({short})."
        return _escalate(reason, found.passages, found.score)
    return _answered(context, found.best, threshold)
