"""KB health's near-duplicate check: each document's nearest neighbours through the HNSW index, kept current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.knowledge.health import NEAR_DUPLICATES_SQL, NEIGHBOURS, near_duplicates
from apps.knowledge.models import Document, SourceKind
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import RUNBOOKS, write_tree

pytestmark = pytest.mark.django_db


def _pairs(**kwargs: Any) -> dict[frozenset[str], Any]:
    return {frozenset((p.first_title, p.second_title)): p for p in near_duplicates(**kwargs)}


def test_an_edited_copy_is_a_near_duplicate_and_leaves_when_it_is_deleted(
    in_hartwell: Any, runbooks: Path, tmp_path: Path, settings: Any
) -> None:
    sync_now(
        source=create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
    )
    edited = RUNBOOKS["vpn.md"].replace("# VPN runbook", "# VPN runbook (old copy)").replace("24 hours", "a day")
    copy = write_tree(tmp_path / "copy", {"vpn-old.md": edited, "exact.md": RUNBOOKS["printers/paper-jam.md"]})
    copy_source = create_source(kind=SourceKind.DIRECTORY, name="Copy", config={"path": str(copy)}, server_paths=True)
    sync_now(source=copy_source)

    pairs = _pairs(threshold=0.9)
    near = pairs[frozenset(("VPN runbook", "VPN runbook (old copy)"))]
    assert not near.identical and 0.9 <= near.similarity < 1
    identical = [(p.first_title, p.second_title) for p in near_duplicates(threshold=0.9) if p.identical]
    assert identical == [("Printer paper jam", "Printer paper jam")]
    assert len(pairs) == 2  # unrelated documents are not paired
    assert frozenset(("VPN runbook", "VPN runbook (old copy)")) not in _pairs(threshold=0.9999)

    # Each document's vector is the mean of its chunks' vectors, as the pairwise check used to compute it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(d.embedding <=> m.mean) FROM knowledge_document d JOIN ("
            "SELECT document_id, avg(embedding) AS mean FROM knowledge_chunk GROUP BY document_id"
            ") m ON m.document_id = d.id"
        )
        count, worst = cursor.fetchone()
        assert count == 6 and worst < 1e-6

    (copy / "vpn-old.md").unlink()  # gone from the source: soft-deleted
    settings.KNOWLEDGE_MAX_FILE_BYTES = 10  # the exact copy becomes unreadable: quarantined, same content hash
    sync_now(source=copy_source)
    assert Document.objects.get(uri="vpn-old.md").embedding is None
    exact = Document.objects.get(uri="exact.md")
    assert exact.error and exact.embedding is None
    assert _pairs(threshold=0.9) == {}


def test_each_document_asks_the_hnsw_index_for_its_neighbours(in_hartwell: Any, runbooks: Path) -> None:
    sync_now(
        source=create_source(
            kind=SourceKind.DIRECTORY, name="Runbooks", config={"path": str(runbooks)}, server_paths=True
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a four-document table would be scanned otherwise
        cursor.execute("EXPLAIN " + NEAR_DUPLICATES_SQL, [NEIGHBOURS + 1, 0.95, 50])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using knowledge_document_embedding" in plan, plan
