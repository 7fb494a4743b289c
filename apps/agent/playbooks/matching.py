"""Which playbook fits a ticket, and why: hard conditions first, then a score.

Hard conditions (any failing one rules the playbook out): the ticket's source kind, priority and customer
attributes, ``require_any`` (at least one of these words) and ``exclude`` (none of these words), and — unless
the playbook sets ``match.questions`` — the ticket must not be a general how-to question (request_kind.py:
"where can I download our invoices?" is for the knowledge base, "I never received our invoice" is for the
playbook), unless it names one of the playbook's own entities (an order or invoice number). After the
similarity, a ticket closer to one of the playbook's ``not_intent`` near misses than to every intent phrasing
is ruled out too. The score is
a weighted mean of the signals the playbook declares: semantic similarity of the ticket to the closest intent
phrasing (the knowledge base's embeddings, apps/knowledge/embeddings.py — or word overlap when embeddings are
off), the share of its keywords present (two hits count fully), and whether one of its patterns matches. A
playbook matches at or above its threshold; the best score wins.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from apps.agent.contracts import TicketView
from apps.agent.playbooks.request_kind import RequestKind, classify
from apps.agent.playbooks.schema import Playbook
from apps.knowledge.embeddings import EmbeddingProvider, Vector, get_provider

WEIGHTS = {"similarity": 0.7, "keywords": 0.2, "patterns": 0.1}
KEYWORD_HITS_FOR_FULL = 2
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


def _ruled_out(playbook: Playbook, ticket: TicketView, text: str, kind: RequestKind) -> str:
    rules = playbook.match
    if rules.sources and ticket.source_kind not in rules.sources:
        return f"source {ticket.source_kind or '(none)'} is not one of {', '.join(rules.sources)}"
    if rules.priorities and ticket.priority not in rules.priorities:
        return f"priority {ticket.priority or '(none)'} is not one of {', '.join(rules.priorities)}"
    for key, allowed in rules.attributes.items():
        actual = str(ticket.attributes.get(key, "")).lower()
        if actual not in allowed:
            return f"customer {key} is {actual or '(unset)'}, not one of {', '.join(allowed)}"
    if rules.require_any and not any(_has_word(text, word) for word in rules.require_any):
        return f"none of the required words ({', '.join(rules.require_any)}) appears"
    excluded = [word for word in rules.exclude if _has_word(text, word)]
    if excluded:
        return f"excluded word {excluded[0]!r} appears"
    if kind.question_only and not rules.questions and not _names_own_entity(playbook, ticket.text):
        return f"a how-to question ({kind.cue!r}) with no problem to act on: the knowledge base answers it"
    return ""


def _similarities(ticket: TicketView, phrases: Sequence[str], provider: EmbeddingProvider,
                  ticket_vector: Vector | None) -> list[float]:  # fmt: skip
    if ticket_vector is not None:
        return [_cosine(ticket_vector, vector) for vector in INTENTS.get(provider, phrases)]
    return [lexical_similarity(ticket.text, phrase) for phrase in phrases]


def score_all(playbooks: Iterable[Playbook], ticket: TicketView, *, provider: EmbeddingProvider | None = None
              ) -> list[Match]:  # fmt: skip
    """Every playbook scored against the ticket, best first (matched ones before the rest)."""
    provider = provider or get_provider()
    text = ticket.text.lower()
    kind = classify(ticket.text)
    playbooks = list(playbooks)
    ticket_vector = None
    if provider.enabled and playbooks:
        ticket_vector = INTENTS.known(provider, ticket.text) or provider.embed_query(ticket.text[:4000])
    matches = []
    for playbook in playbooks:
        result = Match(playbook)
        reason = _ruled_out(playbook, ticket, text, kind)
        if reason:
            result.reasons.append(f"ruled out: {reason}")
            matches.append(result)
            continue
        method = "semantic" if ticket_vector is not None else "word overlap"
        sims = _similarities(ticket, playbook.intent, provider, ticket_vector)
        best = max(range(len(sims)), key=sims.__getitem__)
        result.similarity, result.closest_intent = max(0.0, sims[best]), playbook.intent[best]
        if playbook.not_intent:
            near = _similarities(ticket, playbook.not_intent, provider, ticket_vector)
            closest = max(range(len(near)), key=near.__getitem__)
            if near[closest] > sims[best]:
                result.reasons.append(
                    f"ruled out: closer to the near miss {playbook.not_intent[closest]!r} ({near[closest]:.2f}) "
                    f"than to any intent ({result.closest_intent!r}, {result.similarity:.2f})"
                )
                matches.append(result)
                continue
        signals = {"similarity": result.similarity}
        result.reasons.append(f"{method} similarity {result.similarity:.2f} to {result.closest_intent!r}")
        if playbook.match.keywords:
            result.keyword_hits = tuple(word for word in playbook.match.keywords if _has_word(text, word))
            signals["keywords"] = min(1.0, len(result.keyword_hits) / KEYWORD_HITS_FOR_FULL)
            result.reasons.append(f"keywords {', '.join(result.keyword_hits) or 'none'}")
        if playbook.match.patterns:
            result.pattern_hit = any(re.search(p, ticket.text) for p in playbook.match.patterns)
            signals["patterns"] = 1.0 if result.pattern_hit else 0.0
            result.reasons.append("a pattern matches" if result.pattern_hit else "no pattern matches")
        total = sum(WEIGHTS[key] for key in signals)
        result.score = round(sum(WEIGHTS[key] * value for key, value in signals.items()) / total, 4)
        result.matched = result.score >= playbook.match.threshold
        result.reasons.append(f"score {result.score:.2f} vs threshold {playbook.match.threshold:.2f}")
        matches.append(result)
    # Ties go to the more specific playbook (more declared signals), then the name, so a pick is stable.
    matches.sort(key=lambda m: (not m.matched, -m.score, -len(m.playbook.match.keywords), m.name))
    return matches
