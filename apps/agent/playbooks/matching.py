"""Which playbook fits a ticket, and why: semantic similarity decides, words only add evidence.

Hard conditions (any failing one rules the playbook out) are facts about the ticket, never its wording: the
ticket's source kind, priority and customer attributes, and — unless the playbook sets ``match.questions`` — the
ticket must not be a general how-to question (request_kind.py: "where can I download our invoices?" is for the
knowledge base, "I never received our invoice" is for the playbook), unless it names one of the playbook's own
entities (an order or invoice number). Nor may the ticket ask for a distinct operation the playbook's intents
never speak of (asked_action.py: "please issue a corrected invoice" is not a re-send). After the similarity, a
ticket closer to one of the playbook's ``not_intent`` near misses than to every intent phrasing is ruled out too.

The score is the semantic similarity of the ticket to the closest intent phrasing (the knowledge base's
embeddings, apps/knowledge/embeddings.py — or word overlap when embeddings are off), taken as the best of the
whole text and each of its sentences, so a request buried in a long email is compared on its own; plus a small
bonus for the playbook's words (``keywords`` and ``require_any`` together; two hits give the whole
``KEYWORD_BONUS``) and for one of its patterns. Word lists never veto and their absence costs nothing: a lockout
described in words the list does not know still reaches the unlock playbook on its meaning. An ``exclude``
word present lowers the score by ``EXCLUDE_PENALTY`` instead of ruling the playbook out.

A playbook matches at or above its threshold; the best score wins. A best score within ``ABSTAIN_BAND`` of its
threshold is too close to call, and so is a best that a runner-up which also fits follows within
``CONTEST_MARGIN``: nothing matches, the reasons say so, and the ticket goes on to a person or the knowledge
base — a playbook never acts on a coin toss.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from apps.agent.contracts import TicketView
from apps.agent.playbooks.asked_action import asked_operations, unasked_for
from apps.agent.playbooks.request_kind import RequestKind, classify
from apps.agent.playbooks.schema import Playbook
from apps.knowledge.embeddings import EmbeddingProvider, Vector, get_provider

KEYWORD_BONUS = 0.1
PATTERN_BONUS = 0.05
KEYWORD_HITS_FOR_FULL = 2
MAX_SENTENCES = 24  # of a ticket, compared one by one (a long thread's first ones)
MIN_SENTENCE_WORDS = 3
EXCLUDE_PENALTY = 0.1
ABSTAIN_BAND = 0.02  # calibrated on the development split (apps/agent/evals/corpus), never on the held-out one
CONTEST_MARGIN = 0.03  # the best must beat a runner-up that also fits by this much
_STOPWORD_TEXT = (
    "a an and are as at be been but by can could do does for from had has have hello hi how i i'm im in is it "
    "its me my no not of on or our please so than thanks that the their them there this to us was we were what "
    "when where which who why will with would you your"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass
class Match:
    playbook: Playbook
    score: float = 0.0
    matched: bool = False
    similarity: float = 0.0
    closest_intent: str = ""
    keyword_hits: tuple[str, ...] = ()
    pattern_hit: bool = False
    reasons: list[str] = field(default_factory=list)
    abstained: bool = False  # the score fell within ABSTAIN_BAND of the threshold

    @property
    def name(self) -> str:
        return self.playbook.name


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def _tokens(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {_stem(word) for word in words if len(word) > 2 and word not in STOPWORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def lexical_similarity(text: str, phrase: str) -> float:
    """Share of the phrase's content words found in the text (the fallback when embeddings are off)."""
    wanted = _tokens(phrase)
    return len(wanted & _tokens(text)) / len(wanted) if wanted else 0.0


class IntentVectors:
    """Intent phrasings embedded once per process and model (a library of ~50 phrasings, reused per ticket)."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], Vector] = {}
        self._lock = threading.Lock()

    def get(self, provider: EmbeddingProvider, phrases: Sequence[str]) -> list[Vector]:
        keys = [(provider.model, hashlib.sha256(p.encode()).hexdigest()) for p in phrases]
        with self._lock:
            missing = [(k, p) for k, p in zip(keys, phrases, strict=True) if k not in self._vectors]
        if missing:
            fresh = provider.embed([p for _, p in missing])
            with self._lock:
                self._vectors.update({k: vector for (k, _), vector in zip(missing, fresh, strict=True)})
        return [self._vectors[k] for k in keys]

    def known(self, provider: EmbeddingProvider, text: str) -> Vector | None:
        """The vector of a text already embedded as an intent (a ticket worded like one) — saves a model call."""
        with self._lock:
            return self._vectors.get((provider.model, hashlib.sha256(text.encode()).hexdigest()))


INTENTS = IntentVectors()


def _cosine(a: Vector, b: Vector) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _names_own_entity(playbook: Playbook, text: str) -> str:
    """An entity the playbook extracts from the text itself (not the contact fallback) that the ticket names."""
    for spec in playbook.entities:
        if not spec.fallback and re.search(spec.pattern, text):
            return spec.name
    return ""


def _ruled_out(playbook: Playbook, ticket: TicketView, kind: RequestKind, asked: frozenset[str]) -> str:
    rules = playbook.match
    if rules.sources and ticket.source_kind not in rules.sources:
        return f"source {ticket.source_kind or '(none)'} is not one of {', '.join(rules.sources)}"
    if rules.priorities and ticket.priority not in rules.priorities:
        return f"priority {ticket.priority or '(none)'} is not one of {', '.join(rules.priorities)}"
    for key, allowed in rules.attributes.items():
        actual = str(ticket.attributes.get(key, "")).lower()
        if actual not in allowed:
            return f"customer {key} is {actual or '(unset)'}, not one of {', '.join(allowed)}"
    if kind.question_only and not rules.questions and not _names_own_entity(playbook, ticket.text):
        return f"a how-to question ({kind.cue!r}) with no problem to act on: the knowledge base answers it"
    unasked = unasked_for(asked, playbook.intent)
    if unasked:
        return f"the ticket asks us to {unasked}, which this playbook does not do"
    return ""


def _similarities(
    ticket: TicketView, phrases: Sequence[str], provider: EmbeddingProvider, ticket_vectors: Sequence[Vector]
) -> list[float]:
    """Each phrase's similarity to the closest of the ticket's vectors (its whole text and its sentences)."""
    if ticket_vectors:
        return [max(_cosine(own, vector) for own in ticket_vectors) for vector in INTENTS.get(provider, phrases)]
    return [lexical_similarity(ticket.english, phrase) for phrase in phrases]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.?!])\s+|\n\s*\n", text)
    found = [" ".join(part.split()) for part in parts]
    return [part for part in found if len(part.split()) >= MIN_SENTENCE_WORDS][:MAX_SENTENCES]


def ticket_vectors(ticket: TicketView, provider: EmbeddingProvider) -> list[Vector]:
    """The ticket's whole text and, when it has more than one, each of its sentences (embedded in one batch)."""
    whole = INTENTS.known(provider, ticket.english) or provider.embed_query(ticket.english[:4000])
    vectors = [whole] if whole is not None else []
    sentences = _sentences(ticket.english)
    if len(sentences) < 2:
        return vectors
    return [*vectors, *provider.embed(sentences)]


def _rank(match: Match) -> tuple[bool, float, int, str]:
    """Matched first, then by score; ties go to the more specific playbook (more keywords), then the name."""
    return (not match.matched, -match.score, -len(match.playbook.match.keywords), match.name)


def settle(matches: list[Match]) -> list[Match]:
    """Best first, and at most one match: a runner-up never runs, and one within ``CONTEST_MARGIN`` of the best
    makes the best abstain too — two playbooks that fit almost equally well are a person's call."""
    matches.sort(key=_rank)
    contenders = [m for m in matches if m.matched or m.abstained]
    if not matches or not matches[0].matched:
        return matches
    best = matches[0]
    for other in contenders[1:]:
        if best.matched and best.score - other.score < CONTEST_MARGIN:
            best.matched, best.abstained = False, True
            best.reasons.append(f"too close to call: {other.name} scores {other.score:.2f}")
        if other.matched:
            other.matched = False
            other.reasons.append(f"runner-up to {best.name} ({best.score:.2f})")
    matches.sort(key=_rank)
    return matches


def score_all(
    playbooks: Iterable[Playbook],
    ticket: TicketView,
    *,
    provider: EmbeddingProvider | None = None,
    settled: bool = True,
) -> list[Match]:
    """Every playbook scored against the ticket, best first (matched ones before the rest). ``settled``: keep at
    most one match (``settle``); a caller that still rules some out (missing connectors) settles afterwards."""
    provider = provider or get_provider()
    text = ticket.english.lower()  # intents and keywords are English
    kind = classify(ticket.english)
    asked = asked_operations(ticket.english)
    playbooks = list(playbooks)
    vectors: list[Vector] = []
    if provider.enabled and playbooks:
        vectors = ticket_vectors(ticket, provider)
    matches = []
    for playbook in playbooks:
        result = Match(playbook)
        reason = _ruled_out(playbook, ticket, kind, asked)
        if reason:
            result.reasons.append(f"ruled out: {reason}")
            matches.append(result)
            continue
        method = "semantic" if vectors else "word overlap"
        sims = _similarities(ticket, playbook.intent, provider, vectors)
        best = max(range(len(sims)), key=sims.__getitem__)
        result.similarity, result.closest_intent = max(0.0, sims[best]), playbook.intent[best]
        if playbook.not_intent:
            near = _similarities(ticket, playbook.not_intent, provider, vectors)
            closest = max(range(len(near)), key=near.__getitem__)
            if near[closest] > sims[best]:
                result.reasons.append(
                    f"ruled out: closer to the near miss {playbook.not_intent[closest]!r} ({near[closest]:.2f}) "
                    f"than to any intent ({result.closest_intent!r}, {result.similarity:.2f})"
                )
                matches.append(result)
                continue
        result.reasons.append(f"{method} similarity {result.similarity:.2f} to {result.closest_intent!r}")
        score = result.similarity
        words = tuple(dict.fromkeys([*playbook.match.keywords, *playbook.match.require_any]))
        if words:
            result.keyword_hits = tuple(word for word in words if _has_word(text, word))
            score += KEYWORD_BONUS * min(1.0, len(result.keyword_hits) / KEYWORD_HITS_FOR_FULL)
            result.reasons.append(f"keywords {', '.join(result.keyword_hits) or 'none'}")
        if playbook.match.patterns:
            result.pattern_hit = any(re.search(p, ticket.text) for p in playbook.match.patterns)
            score += PATTERN_BONUS if result.pattern_hit else 0.0
            result.reasons.append("a pattern matches" if result.pattern_hit else "no pattern matches")
        result.score = round(min(1.0, score), 4)
        excluded = [word for word in playbook.match.exclude if _has_word(text, word)]
        if excluded:
            result.score = round(result.score - EXCLUDE_PENALTY, 4)
            result.reasons.append(f"excluded word {excluded[0]!r} appears (-{EXCLUDE_PENALTY:.2f})")
        threshold = playbook.match.threshold
        result.matched = result.score >= threshold + ABSTAIN_BAND
        result.abstained = abs(result.score - threshold) < ABSTAIN_BAND
        result.reasons.append(
            f"score {result.score:.2f} vs threshold {threshold:.2f}"
            + (" — too close to call: abstained" if result.abstained else "")
        )
        matches.append(result)
    if settled:
        return settle(matches)
    matches.sort(key=_rank)
    return matches
