"""No-LLM mode (DESIGN.md §6): answer from the best knowledge passage when it is confident enough, else escalate.

The confidence is the passage's retrieval confidence (``context.passage_confidence``: cosine similarity and
query-word coverage, in [0, 1]); the client's threshold (``AgentSettings.knowledge_threshold``) decides.
The reply quotes the passage, in the client's tone, and cites it; nothing is invented.
"""

from __future__ import annotations

from apps.agent.contracts import Finding, InvestigationContext, Passage, Tone, Verdict

MAX_QUOTE = 1200
OPENINGS = {
    Tone.FORMAL: "Dear {name},\n\nThank you for contacting us. Our documentation ({label}) says:",
    Tone.FRIENDLY: "Hi {name},\n\nThanks for reaching out! Here is what our guide ({label}) says:",
    Tone.TECHNICAL: "Hi {name},\n\nPer {label}:",
}
CLOSINGS = {
    Tone.FORMAL: "If this does not resolve the matter, please reply and a member of our team will assist you.\n\n"
    "Kind regards,\nSupport",
    Tone.FRIENDLY: "If that doesn't sort it out, just reply and one of us will take a look.\n\nCheers,\nSupport",
    Tone.TECHNICAL: "If the issue persists, reply with what you see and we will dig further.\n\nSupport",
}


def _quote(passage: Passage) -> str:
    lines = [line for line in passage.text.strip().splitlines() if not line.startswith("#")]
    text = "\n".join(lines).strip() or passage.text.strip()
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"


def compose_reply(context: InvestigationContext, passage: Passage) -> str:
    name = context.ticket.contact_name or "there"
    opening = OPENINGS[context.tone].format(name=name, label=passage.citation.label)
    source = f"\n\nSource: {passage.citation.label}" + (f" — {passage.citation.url}" if passage.citation.url else "")
    return f"{opening}\n\n{_quote(passage)}{source}\n\n{CLOSINGS[context.tone]}"


def answer_from_knowledge(context: InvestigationContext, *, threshold: float) -> Finding:
    passages = context.search_knowledge(context.ticket.text, limit=5)
    best = passages[0] if passages else None
    if best is None or best.score < threshold:
        found = f"best {best.score:.2f}" if best else "no passage found"
        reason = f"No knowledge passage is confident enough to answer ({found}; threshold {threshold:.2f})."
        return Finding(
            verdict=Verdict.NEEDS_L2,
            summary=f"{reason} A person should take this ticket.",
            citations=[p.citation for p in passages[:3]],
            confidence=best.score if best else 0.0,
            escalation_reason=reason,
            decided_by="knowledge",
        )
    return Finding(
        verdict=Verdict.AUTO_RESOLVED,
        summary=f"Answered from knowledge: {best.citation.label} (confidence {best.score:.2f} ≥ {threshold:.2f}).",
        reply=compose_reply(context, best),
        citations=[best.citation],
        confidence=best.score,
        decided_by="knowledge",
    )
