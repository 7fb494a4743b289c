"""The same problem hitting several clients at once (MSP-11), for the MSP's staff only.

Every client's tickets from a recent window are read in one statement over all schemas (``across.per_client``),
then joined into groups: two tickets belong together when they name the same error string ("AADSTS50076",
"0x80070005", "550 5.7.1", "IRQL_NOT_LESS_OR_EQUAL") or their texts mean nearly the same (cosine of the bundled
all-MiniLM-L6-v2 vectors, or word overlap where embeddings are off). A group that spans at least ``min_clients``
clients is an anomaly when it is more than usual for it: its signature (the error strings it shares, else its
shared words) is counted in the same window of each of the ``BASELINE_WEEKS`` previous weeks by one SQL statement
over every schema (``baseline``), and a group reaching no more clients than the median of those weeks is listed as
recurring (the Monday password expiry, the monthly patch night), not as an anomaly.

The similarity grouping runs in numpy (connected components of the thresholded similarity matrix by label
propagation, a block of rows at a time), not pair by pair in Python: everyday problems many clients share produce
millions of similar pairs.

Privacy: an anomaly names its clients and their ticket counts, and is labelled only with error strings and words
found in the tickets of at least two of its clients, so no phrase only one client wrote reaches the page. The
vectors come from the install's own local model, never from a client's LiteLLM provider (one client's text is not
sent to the provider another client configured), and nothing is written to any client's schema or knowledge.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import numpy as np
import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from apps.core import across
from apps.knowledge.embeddings import provider_for
from apps.tickets.models import Ticket
from tenants.models import Client

log = structlog.get_logger(__name__)

WINDOWS = {"24h": timedelta(hours=24), "72h": timedelta(hours=72), "7d": timedelta(days=7)}
DEFAULT_WINDOW = "24h"
MIN_CLIENTS = 2
# all-MiniLM-L6-v2 puts rewordings of one complaint ("Outlook keeps asking for my password" / "Outlook prompts
# for credentials again and again") above ~0.75 and different problems of one product below ~0.6.
SIMILAR_VECTORS = 0.75
SIMILAR_WORDS = 0.5  # Jaccard of content words, when there are no vectors
MAX_TICKETS = 5000  # the most recent tickets compared in one window; older ones are left out and counted
TEXT_CHARS = 1000
LABEL_WORDS = 6
VECTOR_CACHE_SECONDS = 7 * 24 * 3600
RESULT_CACHE_SECONDS = 300
BASELINE_WEEKS = 4
WEEK_SECONDS = 7 * 24 * 3600
BLOCK = 512

ERROR_PATTERNS = [
    re.compile(r"\b0x[0-9a-f]{6,8}\b", re.IGNORECASE),  # Windows / Office HRESULTs
    re.compile(r"\bAADSTS\d{5,6}\b", re.IGNORECASE),  # Entra ID sign-in errors
    re.compile(r"\b[45]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b"),  # SMTP replies with enhanced status
    re.compile(r"\b[A-Z]{2,}(?:_[A-Z]{2,}){2,}\b"),  # stop codes: CRITICAL_PROCESS_DIED
    re.compile(r"\b[A-Z]\w+(?:Exception|Error)\b"),  # exception names
    re.compile(r"\bKB\d{6,7}\b", re.IGNORECASE),  # Windows updates
    re.compile(r"\bevent id \d{3,5}\b", re.IGNORECASE),
    re.compile(r"\berror(?: code)?:? ?\d{3,6}\b", re.IGNORECASE),
]
_WORD = re.compile(r"[^\W\d_][^\W_]{2,}", re.UNICODE)
_STOP_WORD_TEXT = """the and for you your our with this that have has had not but are was were can cannot could
    would should
    will from all any get got its it's just now when what which who why how there here they them then than too
    very also again still since after before into onto out off over under about please thanks thank hello dear
    regards best kind team hi hey one two some more most much many every each other same been being does did
    doing done let yes need needs needed help issue problem today yesterday morning afternoon know think see
    seems seem like want wants sent send working work works does doesn't isn't won't can't anyone someone"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())


@dataclass(frozen=True)
class RecentTicket:
    schema: str
    ticket_id: str
    created_at: datetime
    text: str
    errors: frozenset[str]
    words: frozenset[str]


@dataclass
class Anomaly:
    errors: list[str]  # error strings seen at two or more of its clients
    words: list[str]  # words seen at two or more of its clients, the most widespread first
    clients: list[tuple[Client, int]]  # (client, its tickets in the group), most tickets first
    first_seen: datetime
    last_seen: datetime
    weekly_clients: list[int] = field(default_factory=list)  # clients the signature reached 1, 2, ... weeks ago

    @property
    def usual_clients(self) -> float:
        """The median of ``weekly_clients``: how many clients this signature reaches in an ordinary week."""
        return float(median(self.weekly_clients)) if self.weekly_clients else 0.0

    @property
    def signature(self) -> tuple[list[str], int]:
        """What a past ticket must contain to count as the same problem: any shared error string, else most of the
        shared words (substring matches in SQL, so an approximation of the grouping, on the safe side)."""
        if self.errors:
            return [error.lower() for error in self.errors], 1
        return self.words, max(2, (len(self.words) + 1) // 2) if len(self.words) >= 2 else 99

    @property
    def tickets(self) -> int:
        return sum(count for _, count in self.clients)


@dataclass
class Report:
    window: str
    since: datetime
    anomalies: list[Anomaly] = field(default_factory=list)
    recurring: list[Anomaly] = field(default_factory=list)  # groups no wider than in an ordinary week
    tickets_compared: int = 0
    tickets_left_out: int = 0  # beyond MAX_TICKETS in the window
    compared_by: str = "meaning"  # or "words", when the install runs without embeddings


def error_strings(text: str) -> frozenset[str]:
    """The error codes and names a ticket quotes, upper-cased so "aadsts50076" and "AADSTS50076" agree."""
    found: set[str] = set()
    for pattern in ERROR_PATTERNS:
        found.update(" ".join(match.split()).upper() for match in pattern.findall(text))
    return frozenset(found)


def content_words(text: str) -> frozenset[str]:
    return frozenset(word for word in (w.lower() for w in _WORD.findall(text)) if word not in STOP_WORDS)


def recent_tickets(since: datetime, *, limit: int = MAX_TICKETS) -> tuple[list[RecentTicket], int]:
    """Every active client's tickets created since ``since``, newest first, at most ``limit``; and how many more."""
    rows = across.per_client(
        across.client_schemas(),
        Ticket,
        "id::text, created_at, title || E'\\n' || left(body, %s)",
        where="created_at >= %s AND deleted_at IS NULL",
        select_params=[TEXT_CHARS],
        params=[since],
    )
    rows.sort(key=lambda row: row[2], reverse=True)
    kept = [
        RecentTicket(
            schema=schema,
            ticket_id=ticket_id,
            created_at=created_at,
            text=text,
            errors=error_strings(text),
            words=content_words(text),
        )
        for schema, ticket_id, created_at, text in rows[:limit]
    ]
    return kept, max(0, len(rows) - limit)


def _vectors(tickets: Sequence[RecentTicket]) -> np.ndarray | None:
    """Unit vectors of the tickets' texts from the local model (cached by ticket), or None without embeddings."""
    provider = provider_for(settings.KNOWLEDGE_EMBEDDINGS)
    if not provider.enabled:
        return None
    keys = [f"gaby:anomaly-vector:{t.schema}:{t.ticket_id}" for t in tickets]
    cached = cache.get_many(keys)
    missing = [i for i, key in enumerate(keys) if key not in cached]
    if missing:
        try:
            fresh = provider.embed([tickets[i].text for i in missing])
        except ImproperlyConfigured as exc:
            log.warning("anomalies.no_vectors", error=str(exc))
            return None
        new = {
            keys[i]: np.asarray(vector, dtype=np.float32).tobytes() for i, vector in zip(missing, fresh, strict=True)
        }
        cache.set_many(new, timeout=VECTOR_CACHE_SECONDS)
        cached.update(new)
    return np.stack([np.frombuffer(cached[key], dtype=np.float32) for key in keys])


class _Groups:
    """Union-find over ticket positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _components(vectors: np.ndarray) -> np.ndarray:
    """For each ticket, the lowest index of its connected component in the graph "cosine >= SIMILAR_VECTORS":
    the thresholded matrix is built a block of rows at a time, then each label becomes the smallest label among its
    neighbours (and its label's label) until nothing changes, all in numpy."""
    size = len(vectors)
    adjacency = np.zeros((size, size), dtype=bool)
    for start in range(0, size, BLOCK):
        adjacency[start : start + BLOCK] = vectors[start : start + BLOCK] @ vectors.T >= SIMILAR_VECTORS
    labels = np.arange(size)
    while True:
        lowest = np.empty_like(labels)
        for start in range(0, size, BLOCK):
            rows = adjacency[start : start + BLOCK]
            lowest[start : start + BLOCK] = np.where(rows, labels[None, :], size).min(axis=1)
        updated = np.minimum(labels, lowest)
        updated = updated[updated]  # jump to the label's label: fewer rounds on long chains
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def _join_similar(tickets: Sequence[RecentTicket], vectors: np.ndarray | None, groups: _Groups) -> None:
    if vectors is not None:
        for i, label in enumerate(_components(vectors).tolist()):
            if label != i:
                groups.join(i, int(label))
        return
    for i, a in enumerate(tickets):
        for j in range(i + 1, len(tickets)):
            b = tickets[j]
            union = len(a.words | b.words)
            if union and len(a.words & b.words) / union >= SIMILAR_WORDS:
                groups.join(i, j)


def baseline(groups: Sequence[Anomaly], now: datetime, window: timedelta, schemas: Sequence[str]) -> None:
    """Set each group's ``weekly_clients``: how many clients had a ticket matching its signature in the same window
    1, 2, ... ``BASELINE_WEEKS`` weeks before ``now``. One statement over every schema; it returns counts per
    client, week and group, never ticket text."""
    if not groups or not schemas:
        return
    signatures = [{"n": n, "terms": terms, "need": need} for n, (terms, need) in enumerate(g.signature for g in groups)]
    earliest = now - timedelta(weeks=BASELINE_WEEKS) - window
    latest = now - timedelta(weeks=1)
    parts: list[str] = []
    values: list[Any] = []
    for schema in schemas:
        # Gaby's SQL with quoted identifiers only; the signatures, dates and window are bound parameters.
        parts.append(
            f"""SELECT %s, s.n, floor(extract(epoch FROM (%s - t.created_at)) / {WEEK_SECONDS})::int
            FROM {across.table(schema, Ticket)} t
            JOIN jsonb_to_recordset(%s::jsonb) AS s(n int, terms text[], need int)
              ON (SELECT count(*) FROM unnest(s.terms) AS term
                  WHERE strpos(lower(t.title || ' ' || left(t.body, {TEXT_CHARS})), term) > 0) >= s.need
            WHERE t.deleted_at IS NULL AND t.created_at >= %s AND t.created_at < %s
              AND mod(extract(epoch FROM (%s - t.created_at))::numeric, {WEEK_SECONDS}) < %s
            GROUP BY 2, 3"""  # noqa: S608
        )
        values.extend([schema, now, json.dumps(signatures), earliest, latest, now, window.total_seconds()])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        found = cursor.fetchall()
    reached: dict[tuple[int, int], set[str]] = defaultdict(set)
    for schema, n, weeks_ago in found:
        if 1 <= weeks_ago <= BASELINE_WEEKS:
            reached[(n, weeks_ago)].add(schema)
    for n, group in enumerate(groups):
        group.weekly_clients = [len(reached.get((n, week), ())) for week in range(1, BASELINE_WEEKS + 1)]


def _join_same_errors(tickets: Sequence[RecentTicket], groups: _Groups) -> None:
    first_with: dict[str, int] = {}
    for i, ticket in enumerate(tickets):
        for error in ticket.errors:
            groups.join(i, first_with.setdefault(error, i))


def _shared(members: Sequence[RecentTicket], attribute: str) -> list[str]:
    """Values of ``attribute`` (errors or words) seen at two or more of the members' clients, most widespread
    first: what the group has in common, never what only one client wrote."""
    clients_with: dict[str, set[str]] = defaultdict(set)
    tickets_with: Counter[str] = Counter()
    for ticket in members:
        for value in getattr(ticket, attribute):
            clients_with[value].add(ticket.schema)
            tickets_with[value] += 1
    shared = [value for value, schemas in clients_with.items() if len(schemas) >= 2]
    return sorted(shared, key=lambda value: (-len(clients_with[value]), -tickets_with[value], value))


def find_anomalies(window: str = DEFAULT_WINDOW, *, min_clients: int = MIN_CLIENTS) -> Report:
    """The groups of similar tickets from the last ``window`` that span ``min_clients`` clients or more."""
    if window not in WINDOWS:
        raise ValueError(f"Unknown window {window!r}: use one of {', '.join(WINDOWS)}.")
    if min_clients < 2:
        raise ValueError("An anomaly spans at least two clients: min_clients must be 2 or more.")
    now = timezone.now()
    since = now - WINDOWS[window]
    tickets, left_out = recent_tickets(since)
    report = Report(window=window, since=since, tickets_compared=len(tickets), tickets_left_out=left_out)
    if len(tickets) < min_clients:
        return report
    vectors = _vectors(tickets)
    report.compared_by = "meaning" if vectors is not None else "words"
    groups = _Groups(len(tickets))
    _join_similar(tickets, vectors, groups)
    _join_same_errors(tickets, groups)
    members: dict[int, list[RecentTicket]] = defaultdict(list)
    for i, ticket in enumerate(tickets):
        members[groups.find(i)].append(ticket)
    clients = {client.schema_name: client for client in Client.objects.filter(is_active=True)}
    wide: list[Anomaly] = []
    for group in members.values():
        per_client = Counter(ticket.schema for ticket in group)
        if len(per_client) < min_clients:
            continue
        wide.append(
            Anomaly(
                errors=_shared(group, "errors"),
                words=_shared(group, "words")[:LABEL_WORDS],
                clients=[(clients[schema], count) for schema, count in per_client.most_common() if schema in clients],
                first_seen=min(ticket.created_at for ticket in group),
                last_seen=max(ticket.created_at for ticket in group),
            )
        )
    baseline(wide, now, WINDOWS[window], across.client_schemas())
    for anomaly in wide:
        (report.anomalies if len(anomaly.clients) > anomaly.usual_clients else report.recurring).append(anomaly)
    for listed in (report.anomalies, report.recurring):
        listed.sort(key=lambda a: (-len(a.clients), -a.tickets, -a.last_seen.timestamp()))
    return report


def cached_anomalies(window: str = DEFAULT_WINDOW, *, min_clients: int = MIN_CLIENTS) -> Report:
    """``find_anomalies``, grouped at most every few minutes per window (whatever ``min_clients`` a page asks: the
    groups are kept once and narrowed here, so no request parameter makes the grouping run again)."""
    if window not in WINDOWS:
        raise ValueError(f"Unknown window {window!r}: use one of {', '.join(WINDOWS)}.")
    key = f"gaby:anomalies:{window}"
    report = cache.get(key)
    if report is None:
        report = find_anomalies(window, min_clients=MIN_CLIENTS)
        cache.set(key, report, timeout=RESULT_CACHE_SECONDS)
    if min_clients > MIN_CLIENTS:
        wide = [anomaly for anomaly in report.anomalies if len(anomaly.clients) >= min_clients]
        usual = [anomaly for anomaly in report.recurring if len(anomaly.clients) >= min_clients]
        report = dataclasses.replace(report, anomalies=wide, recurring=usual)
    return report
