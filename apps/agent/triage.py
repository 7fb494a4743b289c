"""What kind of ticket is this, who is asking, and is anything off? Decided before any playbook or knowledge answer.

The kinds (shown on the investigation with the words that decided):

* ``question`` — asks how something works, what the policy is, where to find something; the only kind the
  knowledge fallback may close;
* ``action_request`` — asks Gaby to do something, or says something of theirs did not arrive or does not work;
  a playbook may take it, else it escalates;
* ``incident`` — a bug or error report (even one phrased as a question: "why does the export crash?"), or a possible
  account compromise ("typed my password on that page", "emails I did not send");
* ``outage`` — the service is down for them or for many;
* ``complaint`` — anger, a demand for a manager, "third time I write";
* ``legal`` — lawyers, data-subject requests, contract changes;
* ``suspicious`` — any suspicion flag (apps/safety/suspicion.py): never auto-acts.

Separately, **on behalf of another person**: the requester's own words name someone else's address, talk about a
colleague's or a boss's account, or forward a message someone else wrote. Gaby may answer such a
ticket's question from the knowledge base but runs no playbook on it, unless an Admin listed the requester as an
authorized contact (apps/safety/models.py ``AuthorizedContact``).

The cues are per sentence of the requester's own words (apps/tickets/reading.py strips signatures, quotes and
forwards first), in English with the commonest German, French and Spanish forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from apps.agent.contracts import Verdict
from apps.agent.playbooks.request_kind import QUESTION_CUES
from apps.agent.triage_cues import (
    BUG_WORDS,
    COMPLAINT_CUES,
    COMPROMISE_CUES,
    FOREIGN_QUESTION_CUES,
    LEGAL_CUES,
    MALFUNCTION_CUES,
    MIN_QUESTION_WORDS,
    OTHERS_CUES,
    OUTAGE_CUES,
    PROBLEM_CUES,
    SENTENCE_BREAK,
    STRONG_ASK_CUES,
    THIRD_PERSON,
    WEAK_ASK_CUES,
    WHY,
    credentials_doubted,
)
from apps.safety.requester import EMAIL, Requester
from apps.safety.suspicion import Flag
from apps.tickets.reading import ReadTicket


class TicketKind(StrEnum):
    QUESTION = "question"
    ACTION_REQUEST = "action_request"
    INCIDENT = "incident"
    OUTAGE = "outage"
    COMPLAINT = "complaint"
    LEGAL = "legal"
    SUSPICIOUS = "suspicious"
    OTHER = "other"  # neither asks nor reports: a person reads it


@dataclass
class Assessment:
    """How Gaby read one ticket; stored on the investigation (``assessment``) and shown there."""

    requester: Requester
    kind: TicketKind
    why: str
    language: str = "en"
    flags: list[Flag] = field(default_factory=list)
    on_behalf_of_other: str = ""  # the evidence; "" when the ticket is about the requester's own things
    questions: list[str] = field(default_factory=list)  # the asking sentences, for multi-part answers
    how_to: bool = False  # some sentence asks how something works
    acts_for: str = ""  # whose account a playbook may act on: the requester's, or the one an authorized contact named
    compromise: str = ""  # someone else may hold the account: a technician decides every step, no playbook runs
    read: ReadTicket | None = None

    @property
    def knowledge_may_answer(self) -> bool:
        """Only a question, and for another person only one that asks how something works: the help center's
        answer is nobody's data, but "can you let her back in?" is not a question it answers."""
        return self.kind is TicketKind.QUESTION and (not self.on_behalf_of_other or self.how_to)

    @property
    def suspicious(self) -> bool:
        return bool(self.flags)

    @property
    def suspicion(self) -> str:
        """Why the gate holds every write made for this ticket: its flags, and a possible account compromise."""
        reasons = [f"{flag.name}: {flag.evidence}" for flag in self.flags]
        if self.compromise:
            reasons.append(f"possible account compromise: “{self.compromise}”")
        return "; ".join(reasons)

    @property
    def may_act(self) -> bool:
        """Whether a playbook may act on this ticket at all: never when flagged or when the account may be in
        someone else's hands; for another person only when the requester is an authorized contact who named that
        person's address."""
        if self.flags or self.compromise or not self.acts_for:
            return False
        return not self.on_behalf_of_other or self.requester.authorized_for_others

    def escalation_verdict(self) -> Verdict:
        return Verdict.NEEDS_TECH if self.kind in {TicketKind.INCIDENT, TicketKind.OUTAGE} else Verdict.NEEDS_L2

    def describe(self) -> str:
        parts = [f"{self.kind.value.replace('_', ' ')} ({self.why})", f"language {self.language}"]
        if self.on_behalf_of_other:
            parts.append(f"on behalf of another person: {self.on_behalf_of_other}")
        if self.flags:
            parts.append(f"flagged: {self.suspicion}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        requester = self.requester
        return {
            "kind": self.kind.value,
            "why": self.why,
            "language": self.language,
            "flags": [flag.as_dict() for flag in self.flags],
            "on_behalf_of_other": self.on_behalf_of_other,
            "questions": self.questions,
            "how_to": self.how_to,
            "acts_for": self.acts_for,
            "requester": {
                "email": requester.email,
                "name": requester.name,
                "channel": requester.channel,
                "verified": requester.verified,
                "authentication": requester.authentication,
                "authorized_contact": requester.authorized_for_others,
            },
            "stripped": {
                "quoted": bool(self.read and self.read.quoted),
                "forwarded": bool(self.read and self.read.forwarded),
                "signature": bool(self.read and self.read.signature),
            },
        }


def _first(cues: tuple[re.Pattern[str], ...], text: str) -> str:
    for cue in cues:
        found = cue.search(text)
        if found:
            return found.group(0).strip()
    return ""


def _asks(sentence: str, language: str) -> str:
    asked = _first(QUESTION_CUES, sentence) or _first(FOREIGN_QUESTION_CUES.get(language, ()), sentence)
    if not asked and sentence.rstrip().endswith("?"):
        asked = "?"
    return asked


def sentences(text: str) -> list[str]:
    """Sentences of a text whose lines may be hard-wrapped: a line break inside a paragraph joins, a blank line,
    a list item or an end of sentence splits."""
    text = text.replace("\u2019", "'").replace("\r\n", "\n")
    text = re.sub(r"\n(?=\s*(?:[-*•]|\d+[.)])\s)", "\n\n", text)  # each list item on its own
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        found += [s.strip() for s in SENTENCE_BREAK.split(" ".join(paragraph.split())) if s.strip()]
    return found


@dataclass(frozen=True)
class Classification:
    kind: TicketKind
    why: str  # the words that decided
    questions: list[str]  # the asking sentences
    how_to: bool = False  # some sentence asks how something works (not only a "?" after a request)
    compromise: str = ""  # the words that say someone else may hold the requester's account


def classify(title: str, request: str, *, flags: list[Flag], language: str = "en") -> Classification:
    """The kind of a ticket from its title and its requester's words, and the words that decided."""
    text = f"{title}\n\n{request}".replace("\u2019", "'")
    all_sentences = sentences(text)
    questions = [s for s in sentences(request) if _asks(s, language)]
    if flags:
        return Classification(TicketKind.SUSPICIOUS, flags[0].name.replace("_", " "), questions)
    legal = _first(LEGAL_CUES, text)
    if legal:
        return Classification(TicketKind.LEGAL, legal, questions)
    complaint = _first(COMPLAINT_CUES, text)
    if complaint:
        return Classification(TicketKind.COMPLAINT, complaint, questions)
    compromise = _first(COMPROMISE_CUES, text) or credentials_doubted(text)
    if compromise:
        why = f"a possible account compromise: {compromise!r}"
        return Classification(TicketKind.INCIDENT, why, questions, compromise=compromise)
    asked = how_to = strong = weak = problem = outage = malfunction = why_bug = ""
    for sentence in all_sentences:
        asks = _asks(sentence, language)
        asked = asked or asks
        how_to = how_to or (asks if asks != "?" else "")
        strong = strong or _first(STRONG_ASK_CUES, sentence)
        weak = weak or _first(WEAK_ASK_CUES, sentence)
        broken = _first(MALFUNCTION_CUES, sentence)
        if not asks:
            outage = outage or _first(OUTAGE_CUES, sentence)
            malfunction = malfunction or broken
            problem = problem or _first(PROBLEM_CUES, sentence)
        elif WHY.match(sentence) and BUG_WORDS.search(sentence):
            why_bug = why_bug or BUG_WORDS.search(sentence).group(0)  # type: ignore[union-attr]
    real_question = how_to or next(
        (q for q in questions if len(re.findall(r"[^\W\d_]{3,}", q)) >= MIN_QUESTION_WORDS), ""
    )
    how = bool(how_to)
    if outage:
        return Classification(TicketKind.OUTAGE, outage, questions, how)
    if strong:
        return Classification(TicketKind.ACTION_REQUEST, strong, questions, how)
    if why_bug:
        return Classification(TicketKind.INCIDENT, f"asks why something is broken: {why_bug!r}", questions, how)
    if malfunction and not how_to:
        return Classification(TicketKind.INCIDENT, malfunction, questions)  # asking what an error means: a question
    if weak and not real_question:
        return Classification(TicketKind.ACTION_REQUEST, weak, questions, how)
    if asked:
        return Classification(TicketKind.QUESTION, asked, questions, how)
    if problem:
        return Classification(TicketKind.QUESTION, f"a problem the help center may solve: {problem!r}", questions, how)
    return Classification(TicketKind.OTHER, "neither asks a question nor reports a problem", questions, how)


def on_behalf_of_other(read: ReadTicket, requester: Requester) -> str:
    """Why the requester's own words are about someone else's account ("" when they are not)."""
    own = read.request
    for address in EMAIL.findall(own):
        if not requester.is_me(address):
            return f"names {address.lower()}"
    cue = _first(OTHERS_CUES, own)
    if cue:
        return f"“{cue[:80]}”"
    author = read.forwarded_from
    if read.forwards_someone and author and not requester.is_me(author):
        # Someone else's message: theirs to ask, unless the requester's own words make the request their own
        # ("see below from our AP team — could you send me the November bill again?").
        first_name = re.split(r"[._+-]", author.split("@", 1)[0])[0]
        about_them = THIRD_PERSON.search(own) or (
            len(first_name) > 2 and re.search(rf"\b{re.escape(first_name)}\b", own, re.IGNORECASE)
        )
        if read.cover_note_only or about_them:
            return f"forwards a message from {author}"
    return ""


def assess(*, title: str, read: ReadTicket, requester: Requester, flags: list[Flag]) -> Assessment:
    found = classify(title, read.matching_text(), flags=flags, language=read.language)
    others = on_behalf_of_other(read, requester)
    acts_for = requester.email
    if others and requester.authorized_for_others:
        named = {a.lower() for a in EMAIL.findall(read.request) if not requester.is_me(a)}
        acts_for = named.pop() if len(named) == 1 else ""  # "my colleague" without an address: a person decides
    return Assessment(
        requester=requester,
        kind=found.kind,
        why=found.why,
        language=read.language,
        flags=flags,
        on_behalf_of_other=others,
        questions=found.questions,
        how_to=found.how_to,
        acts_for=acts_for,
        compromise=found.compromise,
        read=read,
    )
