"""The labelled sets of bench/retrieval_quality.py: the long-ticket file's invariants, its validator, the figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench._retrieval_sets import (
    DEV_SHARE,
    LONG_TICKETS,
    MAX_WORDS,
    MIN_WORDS,
    Ticket,
    load_tickets,
    longest_shared_run,
    problems,
    queries_for,
    split_of,
)
from bench.debian_faq import Pair
from bench.retrieval_quality import PREFIX, QUERY_CAP, WHOLE, goal_lines, parse_sets, prefix_query, scores, ticket_query

FILLER = " ".join(["word"] * MIN_WORDS)


def test_the_shipped_ticket_file_keeps_its_invariants() -> None:
    tickets = load_tickets()
    ids = [t.id for t in tickets]
    assert len(ids) == len(set(ids)) >= 120
    assert len({n for t in tickets for n in t.sections}) >= 100
    assert all(t.split == split_of(t.id) for t in tickets)
    assert all(MIN_WORDS <= len(t.ticket.split()) <= MAX_WORDS for t in tickets)
    assert all(all(n.replace(".", "").isdigit() for n in t.sections) for t in tickets)
    dev_share = sum(t.split == "dev" for t in tickets) / len(tickets)
    assert abs(dev_share - DEV_SHARE / 100) < 0.1


def test_the_split_is_a_fixed_hash_of_the_id() -> None:
    # Pinned values: a change of the hash would silently move tickets between dev and held-out.
    assert [split_of(f"lt-{n:03d}") for n in range(1, 9)] == [
        "dev",
        "heldout",
        "dev",
        "dev",
        "dev",
        "dev",
        "heldout",
        "heldout",
    ]
    assert {split_of(f"x-{n}") for n in range(200)} == {"dev", "heldout"}
    shipped = {t.id: t.split for t in load_tickets()}
    assert all(split_of(tid) == split for tid, split in shipped.items())


def test_longest_shared_run_ignores_case_and_punctuation() -> None:
    question = "How do I put a package on hold?"
    assert longest_shared_run("so, how do I PUT a package on hold!", question) == 8
    assert longest_shared_run("please make apt leave that one library alone", question) == 0
    assert longest_shared_run("put a package somewhere", question) == 3


def test_the_validator_names_each_problem() -> None:
    pairs = [Pair("7.12", "How do I put a package on hold?", "answer")]
    good = Ticket("t-good", split_of("t-good"), ("7.12",), FILLER + " keep apt away from one library")
    copied = Ticket("t-copy", split_of("t-copy"), ("7.12",), FILLER + " how do I put a package on hold")
    unknown = Ticket("t-unknown", split_of("t-unknown"), ("9.99",), FILLER)
    short = Ticket("t-short", split_of("t-short"), ("7.12",), "too short")
    wrong_split = Ticket("t-split", "heldout" if split_of("t-split") == "dev" else "dev", ("7.12",), FILLER)
    found = problems([good, copied, unknown, short, wrong_split, good], pairs)
    assert found == [
        "t-copy: shares 8 consecutive words with the question of 7.12",
        "t-unknown: section 9.99 is not in the parsed FAQ",
        "t-short: 2 words, outside 150-600",
        f"t-split: split is {wrong_split.split!r}, the hash of its id says {split_of('t-split')!r}",
        "t-good: duplicate id",
    ]


def test_a_malformed_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text(json.dumps({"id": "a", "split": "dev", "sections": ["1.1"], "ticket": "x"}) + "\n{}\n")
    with pytest.raises(SystemExit, match=r"tickets\.jsonl line 2: each line must be a JSON object"):
        load_tickets(path)
    with pytest.raises(SystemExit, match="is missing"):
        load_tickets(tmp_path / "absent.jsonl")


def test_sets_select_queries_and_their_relevant_sections() -> None:
    pairs = [Pair("1.1", "What is this FAQ?", "answer")]
    tickets = [Ticket("a", "dev", ("3.1", "3.1.5"), "text a"), Ticket("b", "heldout", ("2.1",), "text b")]
    assert [(q.text, q.relevant) for q in queries_for("faq", pairs, tickets)] == [
        ("What is this FAQ?", frozenset({"1.1"}))
    ]
    assert [q.relevant for q in queries_for("long-dev", pairs, tickets)] == [frozenset({"3.1", "3.1.5"})]
    assert [q.id for q in queries_for("long-heldout", pairs, tickets)] == ["b"]
    with pytest.raises(SystemExit, match="Unknown set 'long'"):
        queries_for("long", pairs, tickets)


def test_a_ticket_is_searched_whole_and_by_the_old_prefix() -> None:
    ticket = "  Hello,\n\n" + "x" * 2000
    assert prefix_query(ticket) == ticket.strip()[:QUERY_CAP] and len(prefix_query(ticket)) == QUERY_CAP
    assert ticket_query(ticket) == ticket.strip()  # the agent's path now: all of it
    assert LONG_TICKETS.name == "debian_faq_long_tickets.jsonl"


def test_document_figures_and_the_goal_verdicts() -> None:
    assert scores([1, 3, None, 10]) == {
        "recall@5": 0.5,
        "recall@10": 0.75,
        "mrr@10": pytest.approx((1 + 1 / 3 + 0.1) / 4),
    }
    figures = {
        f"full text (BM25), {PREFIX}": {"recall@5": 0.2, "recall@10": 0.3, "mrr@10": 0.2},
        f"vector (dense), {PREFIX}": {"recall@5": 0.4, "recall@10": 0.5, "mrr@10": 0.3},
        f"hybrid, {PREFIX}": {"recall@5": 0.5, "recall@10": 0.6, "mrr@10": 0.32},
        f"full text (BM25), {WHOLE}": {"recall@5": 0.2, "recall@10": 0.4, "mrr@10": 0.25},
        f"vector (dense), {WHOLE}": {"recall@5": 0.4, "recall@10": 0.45, "mrr@10": 0.28},
        f"hybrid, {WHOLE}": {"recall@5": 0.6, "recall@10": 0.7, "mrr@10": 0.35},
        "hybrid": {"recall@5": 0.6, "recall@10": 0.7, "mrr@10": 0.35},
    }
    recall, mrr = goal_lines("long-dev", figures, None)
    assert "floor 0.700" in recall and recall.endswith("hybrid 0.700 met")  # 1.4 x the better alone (0.5)
    assert "best 0.300" in mrr and mrr.endswith("hybrid 0.350 met")
    figures[f"hybrid, {WHOLE}"]["mrr@10"] = 0.3
    assert goal_lines("long-dev", figures, None)[1].endswith("NOT met")
    baseline = {"sets": {"faq": {"modes": {"hybrid": {"recall@10": 0.7, "mrr@10": 0.36}}}}}
    assert goal_lines("faq", figures, baseline)[0].endswith("NOT met")
    assert "no baseline" in goal_lines("faq", figures, None)[0]


def test_sets_option_refuses_unknown_names() -> None:
    assert parse_sets("long-dev, faq,long-dev") == ["long-dev", "faq"]
    with pytest.raises(Exception, match="choose sets among faq, long-dev, long-heldout"):
        parse_sets("faq,tickets")
