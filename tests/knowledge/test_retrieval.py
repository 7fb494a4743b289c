"""Hybrid retrieval: cited, explained passages; filters; usage counters; isolation between clients (MSP-6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.knowledge.models import Chunk, Document, SourceKind
from apps.knowledge.retrieval import Filters, QueryError, fuse, record_citations, search
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import write_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(in_hartwell: Any, runbooks: Path) -> Any:
    source = create_source(
        kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
    )
    sync_now(source=source)
    return source


def test_a_question_finds_the_right_section_with_citation_and_explanation(indexed: Any) -> None:
    result = search("How do I reset the VPN password for a user?")
    assert result.mode == "hybrid"
    top = result.hits[0]
    assert top.citation.document_title == "VPN runbook"
    assert top.citation.heading_path == ["VPN runbook", "Reset a user's VPN password"]
    assert (top.citation.line_start, top.citation.line_end) == (5, 7)
    assert top.citation.uri == "vpn.md" and top.citation.source_name == "Runbooks"
    why = top.explanation
    assert {"reset", "vpn", "password", "user"} <= set(why.matched_terms)
    assert why.lexical_rank == 1 and why.semantic_rank is not None
    assert why.semantic_similarity is not None and 0.3 < why.semantic_similarity <= 1
    assert 0 < why.fused_score <= 1


def test_meaning_alone_finds_a_passage_sharing_no_word(indexed: Any) -> None:
    result = search("the printer is stuck with crumpled sheets")
    assert result.hits[0].citation.document_title == "Printer paper jam"
    vague = search("our copier will not feed pages")  # no word in common with any passage
    top = vague.hits[0]
    assert top.citation.document_title == "Printer paper jam"
    assert top.explanation.matched_terms == [] and top.explanation.lexical_rank is None
    assert top.explanation.semantic_rank == 1


def test_filters_by_source_and_recency(indexed: Any, tmp_path: Path) -> None:
    other_dir = write_tree(tmp_path / "other", {"vpn-faq.md": "# VPN FAQ\n\nReset the VPN password from the portal.\n"})
    other = create_source(kind=SourceKind.DIRECTORY, name="FAQ", config={"path": str(other_dir)}, server_paths=True)
    sync_now(source=other)
    only_faq = search("reset vpn password", filters=Filters(source_ids=[other.pk]))
    assert {h.citation.source_name for h in only_faq.hits} == {"FAQ"}
    Document.objects.filter(source=indexed).update(last_modified=timezone.now() - timedelta(days=400))
    recent = search("reset vpn password", filters=Filters(modified_after=timezone.now() - timedelta(days=30)))
    assert recent.hits and {h.citation.source_name for h in recent.hits} == {"FAQ"}


def test_full_text_only_mode_still_answers(indexed: Any) -> None:
    from apps.knowledge.embeddings import provider_for

    result = search("mailbox full", provider=provider_for("none"))
    assert result.mode == "lexical"
    assert result.hits[0].citation.document_title == "Mailbox full"
    assert result.hits[0].explanation.semantic_rank is None


def test_usage_counters_count_retrievals_and_citations(indexed: Any) -> None:
    search("mailbox full outlook")
    doc = Document.objects.get(uri="email.txt")
    assert doc.retrieved_count == 1 and doc.last_used_at is not None and doc.cited_count == 0
    search("mailbox full outlook", record_usage=False)
    assert record_citations(document_ids=[doc.pk]) == 1
    doc.refresh_from_db()
    assert (doc.retrieved_count, doc.cited_count) == (1, 1)


def test_bad_queries_say_what_to_fix(indexed: Any) -> None:
    with pytest.raises(QueryError, match="Type what you are looking for"):
        search("   ")
    assert all(h.explanation.lexical_rank is None for h in search("the of and").hits)  # stop words only
    search("a & b | !c <-> 'quote'")  # tsquery syntax in user input never breaks the SQL


def test_fusion_combines_normalised_scores() -> None:
    a, b, c = "a", "b", "c"
    scores = fuse([(a, 3.0), (b, 1.0)], [(b, 0.9), (c, 0.5)], weight=0.8)  # type: ignore[list-item]
    assert scores == pytest.approx({a: 0.2, b: 0.8, c: 0.0})
    assert fuse([(a, 2.0)], []) == {a: 1.0}  # a side that ran alone scores on its own
    assert fuse([], [(b, 0.4), (c, 0.2)]) == pytest.approx({b: 1.0, c: 0.0})


def test_each_mode_runs_its_own_side(indexed: Any) -> None:
    lexical = search("reset the VPN password", mode="lexical", record_usage=False)
    assert lexical.mode == "lexical" and all(h.explanation.semantic_rank is None for h in lexical.hits)
    semantic = search("our copier will not feed pages", mode="semantic", record_usage=False)
    assert semantic.mode == "semantic" and all(h.explanation.lexical_rank is None for h in semantic.hits)
    assert semantic.hits[0].citation.document_title == "Printer paper jam"
    with pytest.raises(QueryError, match="retrieval mode"):
        search("vpn", mode="fuzzy")


def test_a_query_in_dearborn_never_returns_hartwells_chunks(hartwell: Any, dearborn: Any, runbooks: Path) -> None:
    with tenant_context(hartwell):
        source = create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
        sync_now(source=source)
        hartwell_chunks = set(Chunk.objects.values_list("id", flat=True))
        assert search("reset vpn password").hits
    with tenant_context(dearborn):
        assert Chunk.objects.count() == 0
        for query in ("reset vpn password", "printer paper jam", "mailbox full", "onboarding laptop intune"):
            result = search(query)
            assert result.hits == []
            assert not {h.chunk_id for h in result.hits} & hartwell_chunks
        dearborn_dir = write_tree(
            runbooks.parent / "dearborn", {"tax.md": "# Tax season\n\nVPN password resets go to IT.\n"}
        )
        own = create_source(
            kind=SourceKind.DIRECTORY, name="Dearborn", config={"path": str(dearborn_dir)}, server_paths=True
        )
        sync_now(source=own)
        hits = search("reset vpn password").hits
        assert hits and {h.citation.document_title for h in hits} == {"Tax season"}
        assert not {h.chunk_id for h in hits} & hartwell_chunks
