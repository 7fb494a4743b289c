"""Writes sent together (apps/core/sql_batch.py): one round trip, all or nothing, the rows the ORM would write."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core import sql_batch
from apps.core.sql_batch import Statement, run_together
from apps.knowledge.models import KBCandidate

ADD = "INSERT INTO batch_probe (id) VALUES (%s)"


def _in_autocommit(scenario: Any) -> Any:
    """``scenario`` on a connection of its own, outside any transaction (the test's is not visible there)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = scenario()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_outside_a_transaction_the_statements_commit_together_or_not_at_all(db: None) -> None:
    def scenario() -> tuple[int, list[int], str]:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE batch_probe (id int PRIMARY KEY)")
        assert not connection.in_atomic_block
        with CaptureQueriesContext(connection) as sent:
            rows = run_together(Statement(ADD, [1]), Statement(ADD, [2]), Statement("SELECT count(*) FROM batch_probe"))
        assert rows == [(2,)]  # the last statement's rows, and it saw the two before it
        error = ""
        try:
            run_together(Statement(ADD, [3]), Statement(ADD, [1]))  # the second fails: the first must not stay
        except IntegrityError as exc:
            error = str(exc)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM batch_probe ORDER BY id")
            stored = [row[0] for row in cursor.fetchall()]
        return len(sent.captured_queries), stored, error

    round_trips, stored, error = _in_autocommit(scenario)
    assert round_trips == 1
    assert stored == [1, 2] and "batch_probe_pkey" in error


def test_inside_a_transaction_a_failed_batch_leaves_it_usable_unless_asked_otherwise(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE batch_probe (id int PRIMARY KEY)")
    with transaction.atomic():
        run_together(Statement(ADD, [1]))
        with pytest.raises(IntegrityError):
            run_together(Statement(ADD, [2]), Statement(ADD, [1]))  # under a savepoint: only it is undone
        assert run_together(Statement("SELECT array_agg(id) FROM batch_probe")) == [([1],)]
        with pytest.raises(IntegrityError):
            run_together(Statement(ADD, [1]), savepoint=False)
        assert transaction.get_rollback()  # the whole transaction is lost, as with a plain ORM statement


def test_a_batched_insert_and_update_write_what_the_orm_would(hartwell: Any) -> None:
    with tenant_context(hartwell):
        expires = timezone.now() + timedelta(days=3)
        candidate = KBCandidate(
            title="Reset a password", body="Use the portal.", origin_kind="ticket", expires_at=expires
        )
        assert candidate.created_at is None
        before = KBCandidate.objects.count()  # (and the schema's search_path is set before counting)
        with CaptureQueriesContext(connection) as sent:
            run_together(
                sql_batch.insert(candidate),
                sql_batch.update(KBCandidate.objects.filter(pk=candidate.pk), origin_ref="T-1"),
                savepoint=False,  # (inside the test's transaction a savepoint would add two round trips)
            )
        assert len(sent.captured_queries) == 1
        stored = KBCandidate.objects.get(pk=candidate.pk)
        assert (stored.title, stored.body, stored.status, stored.origin_ref) == (
            "Reset a password",
            "Use the portal.",
            "proposed",
            "T-1",
        )
        assert stored.expires_at == expires and stored.created_at == candidate.created_at is not None
        candidate.title = "Reset a password (portal)"
        candidate.save()  # marked stored by run_together: an UPDATE, not a second INSERT
        assert KBCandidate.objects.filter(pk=candidate.pk).values_list("title", flat=True).get() == candidate.title
        candidate.body, candidate.status = "Use the self-service portal.", "accepted"
        run_together(sql_batch.update_row(candidate))  # what save() would send, every field
        stored = KBCandidate.objects.get(pk=candidate.pk)
        assert (stored.title, stored.body, stored.status) == (candidate.title, candidate.body, "accepted")
        assert KBCandidate.objects.count() == before + 1


def test_a_row_without_its_key_is_refused(hartwell: Any) -> None:
    with tenant_context(hartwell):
        candidate = KBCandidate(title="x", body="y", origin_kind="ticket", expires_at=timezone.now())
        candidate.pk = None
        with pytest.raises(ValueError, match="primary key"):
            sql_batch.insert(candidate)
