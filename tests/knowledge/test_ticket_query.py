"""A whole ticket as a query: passages for the vectors, salient terms for full text, ranking by document.

Through the real path: a small corpus synced with the local MiniLM into a client schema, real PostgreSQL (its GIN
index and, after ANALYZE, the planner's lexeme statistics), ``search()`` as the agent calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from django.db import connection

from apps.knowledge import retrievers, ticket_query
from apps.knowledge.models import SourceKind
from apps.knowledge.retrieval import TICKET_MAX_CHARS, QueryError, by_document, query_terms, search
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import RUNBOOKS, write_tree

pytestmark = pytest.mark.django_db

STORY = (
    "Good morning team. I am writing from the front desk of a small dental practice in the old town. We moved into "
    "the new building last spring and since then a lot has changed for us, new phones, new chairs, a new coffee "
    "machine that nobody knows how to clean. Our receptionist Anna has been with us for eleven years and she is "
    "the one who usually handles all the computer things, but she is on holiday in Portugal until the end of the "
    "month. I tried the help pages of our phone company, I restarted the router twice and I even asked my nephew, "
    "who studies computer science, but he only laughed and told me to call you. "
)
NEED = "The real problem: every hour the connection from home to the office server drops and we have to reconnect."
TICKET = STORY + NEED + "\n\nKind regards,\nDr. Petra Novak\nNovak Dental"


@pytest.fixture
def indexed(in_hartwell: Any, tmp_path: Path) -> Any:
    files = dict(RUNBOOKS)
    # Many passages about printers make "printer" a common word here, "toner" a rare one.
    for number in range(12):
        files[f"printers/model-{number}.md"] = f"# Printer model {number}\n\nThe printer prints pages. Clean it.\n"
    files["printers/toner.md"] = "# Toner\n\nReplace the toner cartridge when pages come out faint.\n"
    source = create_source(
        kind=SourceKind.DIRECTORY,
        name="Runbooks",
        config={"path": str(write_tree(tmp_path / "kb", files))},
        server_paths=True,
    )
    sync_now(source=source)
    return source


def test_passages_keep_sentences_together_and_are_bounded() -> None:
    passages = ticket_query.windows(TICKET)
    assert len(passages) > 2 and all(len(p.split()) <= ticket_query.WINDOW_WORDS + 10 for p in passages)
    assert any(NEED in p for p in passages)  # the sentence naming the need is one passage's, whole
    assert " ".join(passages).split() == TICKET.split()  # nothing lost, nothing repeated, in order
    many = ". ".join(f"Sentence number {n} says a little more" for n in range(400))
    assert len(ticket_query.windows(many)) == ticket_query.MAX_WINDOWS
    assert not ticket_query.is_long("How do I reset the VPN password?") and ticket_query.is_long(TICKET)


def test_the_search_box_keeps_its_limit_and_the_agent_searches_the_whole_ticket(indexed: Any) -> None:
    long_ticket = STORY * 2 + NEED  # the need is past the first 1,000 characters
    assert long_ticket.index(NEED) > 1000
    with pytest.raises(QueryError, match="under 1000 characters"):
        search(long_ticket)
    hits = search(long_ticket, max_chars=TICKET_MAX_CHARS, record_usage=False).hits
    assert hits[0].citation.heading_path == ["VPN runbook", "Tunnel drops every hour"]
    cut = search(long_ticket[:1000], record_usage=False).hits  # what the agent searched before
    assert not cut or cut[0].citation.heading_path != ["VPN runbook", "Tunnel drops every hour"]


@pytest.mark.parametrize("analysed", [False, True], ids=["counted", "planner statistics"])
def test_rare_words_weigh_more_than_common_ones(indexed: Any, analysed: bool, monkeypatch: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE knowledge_chunk")  # this corpus's statistics, not an earlier test's
        assert "printer" in retrievers._common_lexemes(cursor)[0]
    if not analysed:
        # A client whose chunks were never analysed: every lexeme is counted through the GIN index.
        monkeypatch.setattr(retrievers, "_common_lexemes", lambda cursor: ({}, 0.0, 0))
    text = "The printer in the hall prints faint pages, I think the toner is low, can you help with the printer?"
    found = retrievers.salience(query_terms(text, long=True), {"printer": 2})
    assert found.weights["toner"] > found.weights["printer"] > 0
    hits = retrievers.salient(found, retrievers.Filters(), 5)
    assert hits  # the chunk holding the rare word ranks first
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.title FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id WHERE c.id = %s",
            [hits[0][0]],
        )
        assert cursor.fetchone()[0] == "Toner"


def test_ranking_by_document_takes_each_page_by_its_best_chunk_and_caps_it() -> None:
    page_a, page_b = uuid4(), uuid4()
    a = [uuid4() for _ in range(5)]
    b = uuid4()
    fused = {a[0]: 0.9, a[1]: 0.8, a[2]: 0.7, a[3]: 0.6, a[4]: 0.5, b: 0.85}
    document_of = {**dict.fromkeys(a, page_a), b: page_b}
    ranked = by_document(fused, document_of, 10)
    assert ranked == [a[0], a[1], a[2], b]  # page A's best three, then page B; a fourth of A's never shows
