"""/status on the MSP portal: MSP staff read every client's health; client users are refused; after a real
investigation the page shows its model calls, tool calls and outcome."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.signals import worker_ready, worker_shutdown

from apps.observability import heartbeat
from apps.observability.tasks import beat_heartbeat

pytestmark = pytest.mark.django_db


def test_msp_staff_read_it_and_client_users_are_refused(as_user: Any, world: Any) -> None:
    page = as_user("mona", "public").get("/status/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="status-hartwell"' in body and 'data-testid="status-dearborn"' in body
    assert 'data-testid="portal-status-link"' in as_user("mona", "public").get("/").content.decode()
    assert 'data-testid="portal-status-link"' not in as_user("alice", "public").get("/").content.decode()
    assert as_user("alice", "public").get("/status/").status_code == 403  # a client's Admin, not MSP staff
    assert as_user("carol", "public").get("/status/").status_code == 403
    assert as_user("alice", "hartwell").get("/status/").status_code == 404  # not served on a client's domain
    anonymous = as_user(None, "public").get("/status/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_after_an_investigation_it_shows_what_ran(as_user: Any, run_with_one_tool_call: Any) -> None:
    assert run_with_one_tool_call().status == "done"
    from django.db import connection

    connection.set_schema_to_public()  # type: ignore[attr-defined]
    from apps.observability.status import client_statuses

    (row,) = [row for row in client_statuses() if row.client.slug == "hartwell"]
    assert (row.investigations.failed, row.investigations.total) == (0, 1)
    assert (row.tool_calls.failed, row.tool_calls.total) == (0, 1)
    assert (row.llm_calls, row.llm_errors) == (4, 0)
    assert row.llm_p50_ms is not None and row.llm_p95_ms is not None and row.llm_p50_ms <= row.llm_p95_ms
    assert row.last_sync_at is not None and row.last_ticket_at is not None and row.connectors_total == 1
    assert row.approvals_waiting == 0 and not row.needs_attention

    body = as_user("mona", "public").get("/status/").content.decode()
    assert "0 of 1 (0%)" in body  # failed investigations, and failed tool calls, in the last hour
    assert "4 calls" in body and " ms<br>" in body


class _Consumer:
    """What Celery sends worker_ready with (celery/apps/worker.py): the consumer, which knows its hostname."""

    hostname = "gaby@status-test"


def test_worker_and_beat_heartbeats_show(as_user: Any, world: Any) -> None:
    worker_ready.send(sender=_Consumer())
    try:
        beat_heartbeat.apply()  # what beat schedules every 30 s, run here as a worker would
        deadline = time.monotonic() + 10  # the worker's beat is written by its own thread, started just now
        while (
            "gaby@status-test" not in {beat.name for beat in heartbeat.worker_beats()} and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        beats = {beat.name: beat for beat in heartbeat.worker_beats()}
        assert "gaby@status-test" in beats and beats["gaby@status-test"].age_seconds < 5
        beat = heartbeat.beat_beat()
        assert beat is not None and beat.age_seconds < 5
        body = as_user("mona", "public").get("/status/").content.decode()
        assert 'data-testid="worker-gaby@status-test"' in body and "since beat's heartbeat last ran" in body
        assert 'data-testid="queue-celery"' in body
    finally:
        worker_shutdown.send(sender=None)
    assert "gaby@status-test" not in {beat.name for beat in heartbeat.worker_beats()}  # a clean stop removes it


def test_the_board_refreshes_as_a_partial(as_user: Any, world: Any) -> None:
    part = as_user("mona", "public").get("/status/", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and part["Gaby-Partial"] == "observability/status.html#board"
    assert b"<html" not in part.content and b'data-testid="status-board"' in part.content
