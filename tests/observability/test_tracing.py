"""An investigation's span tree, from the SDK's in-memory exporter, through the real engine: the scripted model,
the real loop, the safety gate and the billing database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from apps.observability import tracing
from tests.agent.helpers import classify, investigate, route_all
from tests.llm_server import Fail, ScriptedLLM

pytestmark = pytest.mark.django_db


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.install(provider)
    yield spans
    tracing.install(None)
    provider.shutdown()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return sorted(
        (span for span in spans if span.parent is not None and span.parent.span_id == parent.context.span_id),
        key=lambda span: span.start_time or 0,
    )


def test_one_trace_per_investigation_with_its_steps_tool_and_model_calls(
    run_with_one_tool_call: Any, in_hartwell: Any, exporter: InMemorySpanExporter
) -> None:
    investigation = run_with_one_tool_call()
    assert investigation.verdict == "auto_resolved"
    spans = list(exporter.get_finished_spans())
    roots = [span for span in spans if span.name == "investigation"]
    assert len(roots) == 1
    root = roots[0]
    assert root.parent is None  # no Celery task span here: the engine ran in-process
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}  # one trace
    attributes = dict(root.attributes or {})
    assert attributes["gaby.investigation.id"] == str(investigation.pk)
    assert attributes["gaby.client"] == in_hartwell.schema_name
    assert attributes["gaby.ticket.id"] == str(investigation.ticket_id)
    assert (attributes["gaby.verdict"], attributes["gaby.decided_by"]) == ("auto_resolved", "llm")

    children = _children(spans, root)
    steps = [span for span in children if span.name.startswith("step.")]
    # The timeline, in order: the same kinds the investigation page shows.
    assert [span.name for span in steps] == [
        f"step.{kind}" for kind in investigation.steps.values_list("kind", flat=True)
    ]
    assert [dict(span.attributes or {})["gaby.step.ordinal"] for span in steps] == list(range(1, len(steps) + 1))
    models = [span for span in children if span.name == "llm.call"]
    assert sorted(str(dict(span.attributes or {})["gaby.llm.workflow"]) for span in models) == [
        "classify",
        "plan",
        "plan",
        "verdict",
    ]
    assert all(dict(span.attributes or {})["gen_ai.request.model"] == "scripted-model" for span in models)
    (query,) = [span for span in steps if span.name == "step.query"]
    (tool,) = [span for span in _children(spans, query) if span.name.startswith("tool.")]  # beside its SQL
    tool_attributes = dict(tool.attributes or {})
    assert tool.name == "tool.call" and tool_attributes["gaby.tool.name"] == "query"
    assert (tool_attributes["gaby.gate.outcome"], tool_attributes["gaby.tool.status"]) == ("allow", "done")
    # Every child sits inside its parent's time.
    for span in children:
        assert root.start_time <= span.start_time <= span.end_time <= root.end_time  # type: ignore[operator]
    assert query.start_time <= tool.start_time <= tool.end_time <= query.end_time  # type: ignore[operator]


def test_each_step_holds_the_sql_it_ran_without_its_parameters(
    run_with_one_tool_call: Any, in_hartwell: Any, exporter: InMemorySpanExporter
) -> None:
    investigation = run_with_one_tool_call()
    spans = list(exporter.get_finished_spans())
    (root,) = [span for span in spans if span.name == "investigation"]
    queries = [span for span in spans if dict(span.attributes or {}).get("db.system") == "postgresql"]
    assert queries and {span.context.trace_id for span in queries} == {root.context.trace_id}
    for span in queries:
        attributes = dict(span.attributes or {})
        assert attributes["db.name"] == connection.settings_dict["NAME"]
        assert attributes["gaby.client"] == in_hartwell.schema_name
        assert span.name == f"{attributes['db.operation']} {attributes['db.name']}"
        # Django's placeholders, never the values: no id, ticket text nor answer reaches a span.
        statement = str(attributes["db.statement"])
        for value in (str(investigation.pk), str(investigation.ticket_id), "You are on the pro plan"):
            assert value not in statement
    assert any("%s" in str(dict(span.attributes or {})["db.statement"]) for span in queries)

    steps = [span for span in _children(spans, root) if span.name.startswith("step.")]
    assert len(steps) == investigation.steps.count()
    for step in steps:
        inside = [span for span in _children(spans, step) if span in queries]
        # At least the INSERT of the step's own timeline row, and each within the step's time.
        assert any(
            dict(span.attributes or {})["db.operation"] == "INSERT"
            and "agent_investigationstep" in str(dict(span.attributes or {})["db.statement"])
            for span in inside
        ), step.name
        for span in inside:
            assert step.start_time <= span.start_time <= span.end_time <= step.end_time  # type: ignore[operator]
    # What ran between steps (and the conclusion) sits under the investigation itself.
    assert any(span in queries for span in _children(spans, root))


def test_a_failed_investigation_ends_its_span_as_an_error(
    make_ticket: Any, llm: ScriptedLLM, in_hartwell: Any, exporter: InMemorySpanExporter
) -> None:
    route_all(in_hartwell, llm)
    llm.then(classify(), Fail(500), Fail(500), Fail(500))  # the model goes down after classifying
    investigation = investigate(make_ticket())
    assert investigation.status == "failed"
    (root,) = [span for span in exporter.get_finished_spans() if span.name == "investigation"]
    assert root.status.status_code == StatusCode.ERROR
    assert dict(root.attributes or {})["gaby.verdict"] == "failed"
    names = [span.name for span in _children(list(exporter.get_finished_spans()), root)]
    assert "step.verdict" in names and "llm.call" in names


def test_tracing_off_costs_no_query_and_no_span(make_ticket: Any, knowledge: Any, in_hartwell: Any) -> None:
    tracing.install(None)
    investigate(make_ticket(external_id="T-warm"))  # a client's first run reads settings made once, on first use
    with CaptureQueriesContext(connection) as off:
        investigate(make_ticket(external_id="T-off"))
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.install(provider)
    try:
        with CaptureQueriesContext(connection) as on:
            investigate(make_ticket(external_id="T-on"))
    finally:
        tracing.install(None)
    assert len(spans.get_finished_spans()) > 0
    assert len(on.captured_queries) == len(off.captured_queries)  # the tree is built from rows in memory


SWITCHED_ON = """
import django, httpx
django.setup()
from django.test import Client
from opentelemetry import trace
from tests.http_receiver import http_receiver

from django.conf import settings
print("MIDDLEWARE", settings.MIDDLEWARE[:4])
print("PROBE", Client().get("/health", HTTP_HOST="10.0.0.7:8000").status_code)  # a load balancer's probe
Client(raise_request_exception=False).get("/accounts/login/", HTTP_HOST="localhost")  # a span, whatever it answers
with http_receiver() as receiver:
    httpx.post(receiver.url, json={})
trace.get_tracer_provider().force_flush()
"""


def test_an_otlp_endpoint_switches_on_the_sdk_and_the_instrumentations(tmp_path: Any) -> None:
    """In a process of its own (the instrumentations patch Django, Celery and httpx for the whole process): the
    settings turn tracing on, and a Django request and an httpx call come out as spans."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GABY_OTEL_ENABLED": "true", "GABY_OTEL_EXPORTER": "console", "OTEL_SERVICE_NAME": "gaby-test"}
    result = subprocess.run(
        [sys.executable, "-c", SWITCHED_ON], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    spans = [block for block in result.stdout.split("\n}\n") if '"name"' in block]
    assert any('"http.request.method": "GET"' in span or '"http.method": "GET"' in span for span in spans), (
        result.stdout[-3000:]
    )
    assert any('"kind": "SpanKind.SERVER"' in span and "/accounts/login/" in span for span in spans)
    # Probes and /metrics answer before the tracing middleware, whatever Host they carry.
    assert "PROBE 200" in result.stdout
    assert "'apps.observability.middleware.MetricsMiddleware', 'opentelemetry" in result.stdout
    assert any('"kind": "SpanKind.CLIENT"' in span for span in spans)
    assert '"service.name": "gaby-test"' in result.stdout


def test_a_request_s_queries_are_its_children_and_a_query_in_no_trace_makes_no_span(
    in_hartwell: Any, exporter: InMemorySpanExporter
) -> None:
    from django.core.signals import request_finished
    from opentelemetry import trace

    from apps.tickets.models import Ticket

    Ticket.objects.count()  # no span is current: in no trace
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with trace.get_tracer("test", tracer_provider=provider).start_as_current_span("GET /tickets/") as request:
        list(Ticket.objects.filter(title__icontains="secret-subject"))
    request_finished.send(sender=None)  # the end of a request hands its queries on
    spans = list(exporter.get_finished_spans())
    queries = [span for span in spans if dict(span.attributes or {}).get("db.system") == "postgresql"]
    assert len(queries) == 1, [span.name for span in queries]
    (query,) = queries
    assert query.parent is not None and query.parent.span_id == request.get_span_context().span_id
    statement = str(dict(query.attributes or {})["db.statement"])
    assert "tickets_ticket" in statement and "secret-subject" not in statement
