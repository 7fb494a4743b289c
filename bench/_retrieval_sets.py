"""The labelled query sets bench/retrieval_quality.py runs against the Debian FAQ corpus.

- ``faq``: every FAQ question as its own query (short, worded like the answer's heading).
- ``long-dev`` / ``long-heldout``: customer-style tickets of 150-600 words, each wrapping one (sometimes two) FAQ
  questions the way strangers write — backstory, what they tried, signatures, typos, forwarded text — with the need
  named indirectly. Written for this bench from the FAQ's public text (bench/data/debian_faq_long_tickets.jsonl,
  one object per line: ``id``, ``split``, ``sections``, ``ticket``). The split is a fixed hash of the id (about 60%
  dev, 40% held out), so retrieval can be tuned on dev and checked on tickets it never saw.

    .venv/bin/python bench/_retrieval_sets.py check         # validate the ticket file against the parsed FAQ
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.debian_faq import Pair

LONG_TICKETS = Path(__file__).resolve().parent / "data" / "debian_faq_long_tickets.jsonl"
SETS = ("faq", "long-dev", "long-heldout")
SPLITS = ("dev", "heldout")
DEV_SHARE = 60  # percent of ticket ids hashed into dev
MIN_WORDS, MAX_WORDS = 150, 600
MAX_SHARED_RUN = 5  # a ticket may share at most this many consecutive words with its section's question
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    relevant: frozenset[str]  # FAQ section numbers, "3.1.2"


@dataclass(frozen=True)
class Ticket:
    id: str
    split: str
    sections: tuple[str, ...]
    ticket: str


def split_of(ticket_id: str) -> str:
    """``dev`` or ``heldout``, from a fixed hash of the id: stable across runs, machines and file order."""
    bucket = int(hashlib.sha256(ticket_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "dev" if bucket < DEV_SHARE else "heldout"


def load_tickets(path: Path = LONG_TICKETS) -> list[Ticket]:
    if not path.exists():
        raise SystemExit(f"{path} is missing: the long-ticket set ships with the repository under bench/data/.")
    tickets = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            tickets.append(Ticket(row["id"], row["split"], tuple(row["sections"]), row["ticket"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(
                f"{path.name} line {line_no}: each line must be a JSON object with id, split, sections, ticket ({exc})"
            ) from exc
    return tickets


def faq_queries(pairs: Iterable[Pair]) -> list[Query]:
    return [Query(f"faq-{p.number}", p.question, frozenset({p.number})) for p in pairs]


def ticket_queries(tickets: Iterable[Ticket], split: str) -> list[Query]:
    return [Query(t.id, t.ticket, frozenset(t.sections)) for t in tickets if t.split == split]


def queries_for(name: str, pairs: list[Pair], tickets: list[Ticket]) -> list[Query]:
    if name == "faq":
        return faq_queries(pairs)
    if name in ("long-dev", "long-heldout"):
        return ticket_queries(tickets, name.removeprefix("long-"))
    raise SystemExit(f"Unknown set {name!r}: choose among {', '.join(SETS)}.")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def longest_shared_run(a: str, b: str) -> int:
    """The longest run of consecutive words the two texts share (case and punctuation ignored)."""
    x, y = words(a), words(b)
    best = 0
    previous = [0] * (len(y) + 1)
    for i in range(1, len(x) + 1):
        current = [0] * (len(y) + 1)
        for j in range(1, len(y) + 1):
            if x[i - 1] == y[j - 1]:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def problems(tickets: list[Ticket], pairs: list[Pair]) -> list[str]:
    """Everything wrong with the ticket set, one line each (empty: the set is valid)."""
    questions = {p.number: p.question for p in pairs}
    found = []
    seen: set[str] = set()
    for t in tickets:
        if t.id in seen:
            found.append(f"{t.id}: duplicate id")
        seen.add(t.id)
        if t.split != split_of(t.id):
            found.append(f"{t.id}: split is {t.split!r}, the hash of its id says {split_of(t.id)!r}")
        if not t.sections:
            found.append(f"{t.id}: no relevant section")
        n = len(t.ticket.split())
        if not MIN_WORDS <= n <= MAX_WORDS:
            found.append(f"{t.id}: {n} words, outside {MIN_WORDS}-{MAX_WORDS}")
        for number in t.sections:
            if number not in questions:
                found.append(f"{t.id}: section {number} is not in the parsed FAQ")
                continue
            run = longest_shared_run(t.ticket, questions[number])
            if run > MAX_SHARED_RUN:
                found.append(f"{t.id}: shares {run} consecutive words with the question of {number}")
    return found


def summary(tickets: list[Ticket]) -> str:
    by_split = {s: sum(1 for t in tickets if t.split == s) for s in SPLITS}
    sections = {n for t in tickets for n in t.sections}
    lengths = sorted(len(t.ticket.split()) for t in tickets)
    median = lengths[len(lengths) // 2] if lengths else 0
    # A held-out ticket whose page also answers a dev ticket is not unseen by anything that learns per page.
    dev_sections = {n for t in tickets if t.split == "dev" for n in t.sections}
    shared = sum(1 for t in tickets if t.split == "heldout" and dev_sections.intersection(t.sections))
    return (
        f"{len(tickets)} tickets ({by_split['dev']} dev, {by_split['heldout']} held out) over {len(sections)} FAQ "
        f"sections; {sum(1 for t in tickets if len(t.sections) > 1)} with two relevant sections; "
        f"{shared} held-out tickets share a relevant section with a dev ticket; "
        f"words min {lengths[0] if lengths else 0}, median {median}, max {lengths[-1] if lengths else 0}"
    )


def _check() -> None:
    import os

    from bench.debian_faq import fetch, parse, read

    # The same data directory as the settings' default (the repository's var/), so the FAQ is fetched once.
    root = Path(os.environ.get("GABY_DATA_DIR") or Path(__file__).resolve().parent.parent / "var")
    data_dir = root.expanduser() / "bench" / "debian-faq"
    pairs = parse(read(fetch(data_dir)))
    tickets = load_tickets()
    print(summary(tickets))
    found = problems(tickets, pairs)
    for line in found:
        print(f"  {line}")
    if found:
        raise SystemExit(f"\n{len(found)} problem(s) in {LONG_TICKETS.name}")
    print("  valid: every section exists, every split matches its hash, no question copied")


if __name__ == "__main__":
    if sys.argv[1:] != ["check"]:
        raise SystemExit("usage: bench/_retrieval_sets.py check")
    _check()
