"""LEARN: what an investigation teaches becomes a KB candidate for a person to review (issue 4, item 7).

Two moments propose one: a model-written answer that resolved a ticket (knowledge answers only quote what is
already in the knowledge base, and playbook replies are about one customer's account, so neither does), and an
operator who corrected Gaby's draft before sending it. Candidates carry no personal data: the text is redacted
with the client's compliance profile before it is stored, and it cites the investigation it came from.
"""

from __future__ import annotations

from django.db import connection

from apps.agent.models import Investigation, VerdictChoice
from apps.core.compliance import profile_for
from apps.knowledge.candidates import propose_candidate
from apps.knowledge.models import CandidateOrigin, KBCandidate


def _body(investigation: Investigation, reply: str) -> str:
    sources = [c.get("label", "") for c in investigation.citations if c.get("kind") != "ticket"]
    text = reply.strip()
    if sources:
        text += "\n\nSources: " + "; ".join(label for label in sources if label)
    redacted: str = profile_for(getattr(connection, "tenant", None)).redactor.redact(text).text
    return redacted


def propose_from_resolution(investigation: Investigation) -> KBCandidate | None:
    """A resolved, model-written answer: worth keeping if a reviewer agrees."""
    if investigation.verdict != VerdictChoice.AUTO_RESOLVED or investigation.decided_by != "llm":
        return None
    if not investigation.reply.strip():
        return None
    return propose_candidate(
        title=investigation.ticket.title,
        body=_body(investigation, investigation.reply),
        origin_kind=CandidateOrigin.INVESTIGATION,
        origin_ref=str(investigation.pk),
        origin_url=f"/investigations/{investigation.pk}/",
    )


def propose_from_correction(investigation: Investigation, corrected: str) -> KBCandidate | None:
    """An operator rewrote Gaby's draft before sending it: the corrected answer is the one to learn."""
    if corrected.strip() == investigation.reply.strip():
        return None
    return propose_candidate(
        title=investigation.ticket.title,
        body=_body(investigation, corrected),
        origin_kind=CandidateOrigin.CORRECTION,
        origin_ref=str(investigation.pk),
        origin_url=f"/investigations/{investigation.pk}/",
    )
