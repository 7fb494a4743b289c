"""/metrics scraped after a real investigation (the scripted model, the real loop, the gate, the billing database):
the counters moved by what happened, and the state read at scrape time is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.chat.models import Conversation
from tests.observability.conftest import Samples, value

pytestmark = pytest.mark.django_db


def test_an_investigation_moves_the_counters_a_scrape_reads(
    run_with_one_tool_call: Any,
    in_hartwell: Any,
    scrape: Callable[..., Samples],
    committed: Any,
) -> None:
    client = in_hartwell.schema_name
    before = scrape()
    with committed():  # counted when the run's transactions commit, as on a worker
        investigation = run_with_one_tool_call()
    assert (investigation.status, investigation.verdict, investigation.decided_by) == ("done", "auto_resolved", "llm")
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("gaby_investigations_total", client=client, verdict="auto_resolved", decided_by="llm") == 1
    assert moved("gaby_gate_decisions_total", client=client, outcome="allow", access="read") == 1
    assert moved("gaby_tool_call_duration_seconds_count", access="read", status="done") == 1
    for workflow, calls in (("classify", 1), ("plan", 2), ("verdict", 1)):
        assert (
            moved("gaby_llm_calls_total", client=client, provider="openai_compatible", workflow=workflow, status="ok")
            == calls
        )
    assert moved("gaby_llm_tokens_total", client=client, provider="openai_compatible", direction="input") > 0
    assert moved("gaby_llm_call_duration_seconds_count", provider="openai_compatible") == 4
    # The timeline: read the ticket, classify, search, plan (reads), the query, its check, the verdict.
    steps = {
        kind: moved("gaby_investigation_step_duration_seconds_count", kind=kind)
        for kind in ("read", "query", "verify", "verdict")
    }
    assert steps == {"read": 4, "query": 1, "verify": 1, "verdict": 1}
    assert moved("gaby_tickets_ingested_total", client=client, source="webhook") == 1
    # The first scrape itself was counted, by its route name and status class.
    assert moved("gaby_http_requests_total", method="GET", route="metrics", status="2xx") >= 1

    # Read at scrape time from the client's schema and from Redis.
    assert (
        value(after, "gaby_connectors", client=client, status="healthy")
        + value(after, "gaby_connectors", client=client, status="new")
        == 1
    )
    assert value(after, "gaby_approvals_waiting", client=client) == 0
    assert value(after, "gaby_knowledge_sources", client=client, status="ok") == 1
    assert value(after, "gaby_knowledge_documents", client=client, state="indexed") == 2
    assert value(after, "gaby_knowledge_last_sync_timestamp_seconds", client=client) > 0
    assert ("gaby_celery_queue_depth", frozenset({("queue", "celery")})) in after
    assert all(
        value(after, "gaby_scrape_ok", part=part) == 1
        for part in ("approvals", "connectors", "knowledge", "widget", "queues")
    )


def test_requests_are_counted_by_route_name_not_path(as_user: Any, scrape: Callable[..., Samples]) -> None:
    before = scrape()
    browser = as_user("alice", "hartwell")
    assert browser.get("/inbox/").status_code == 200
    assert browser.get("/no/such/page/").status_code == 404
    assert browser.get("/static/css/gaby.css").status_code == 200
    after = scrape()
    assert (
        value(after, "gaby_http_requests_total", method="GET", route="tickets:inbox", status="2xx")
        - value(before, "gaby_http_requests_total", method="GET", route="tickets:inbox", status="2xx")
        == 1
    )
    assert value(after, "gaby_http_requests_total", method="GET", route="unmatched", status="4xx") > value(
        before, "gaby_http_requests_total", method="GET", route="unmatched", status="4xx"
    )
    assert value(after, "gaby_http_requests_total", method="GET", route="static", status="2xx") > value(
        before, "gaby_http_requests_total", method="GET", route="static", status="2xx"
    )
    assert not any("/no/such" in str(labels) or "gaby.css" in str(labels) for _, labels in after)


def test_per_client_labels_can_be_turned_off(
    settings: Any, in_hartwell: Any, scrape: Callable[..., Samples], committed: Any
) -> None:
    from apps.chat.services import start_conversation
    from apps.chat.widgets import Identity, create_widget

    settings.METRICS_CLIENT_LABELS = False
    before = scrape()
    widget = create_widget(
        client=in_hartwell, changes={"name": "Site", "allowed_origins": ["https://hartwell.example"]}
    )
    with committed():
        conversation, _ = start_conversation(widget=widget, identity=Identity(), origin="https://hartwell.example")
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    after = scrape()
    assert (
        value(after, "gaby_widget_sessions_total", client="all")
        - value(before, "gaby_widget_sessions_total", client="all")
        == 1
    )
    assert value(after, "gaby_widget_sessions_open", client="all", state="bot") >= 1
    # What the scrape reads now carries no client's name (counters of earlier tests in this process may).
    read_now = ("gaby_approvals_waiting", "gaby_connectors", "gaby_knowledge_sources", "gaby_widget_sessions_open")
    assert not any(("client", in_hartwell.schema_name) in labels for name, labels in after if name in read_now)
    assert (
        value(after, "gaby_approvals_waiting", client="all") >= 0
        and ("gaby_approvals_waiting", frozenset({("client", "all")})) in after
    )
