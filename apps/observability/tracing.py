"""OpenTelemetry traces: one span tree per investigation, and Django, Celery and httpx spans around it (OBS-2).

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``GABY_OTEL_ENABLED=true``) is set: then the SDK's tracer provider
exports over OTLP/HTTP, and the maintained instrumentations wrap every request (Django), task (Celery) and outbound
HTTP call (httpx: model calls, webhooks, MCP over HTTP).

The investigation's tree is built from the engine's own step-recording seam, without touching the engine: each
timeline row (``InvestigationStep``), each model call record (``LLMCall``) and the conclusion's audit event arrive
through the receivers of apps/observability/recorders.py. The first of them opens the ``investigation`` span (from
the run's ``started_at``, under whatever span is current: the Celery task's when Celery is instrumented); each step
becomes a ``step.<kind>`` child timed by its ``duration_ms``, a step that called a tool holds a ``tool.call`` (read)
or ``tool.action`` (write) child timed from the gate's decision to the result, and each model call an ``llm.call``
child timed by its latency; the conclusion ends the root. All of it from rows in memory: tracing reads nothing
from the database. The SQL queries each step ran become its children (apps/observability/sql_spans.py).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.db import connection
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from apps.observability import sql_spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from apps.agent.models import InvestigationStep
    from apps.llm.models import LLMCall

log = structlog.get_logger(__name__)
TRACER_NAME = "gaby"
PROBES_MIDDLEWARE = "apps.observability.middleware.MetricsMiddleware"  # the last of those answering before routing
OPEN_RUNS_KEPT = 256  # a run that never concludes here (its worker died) is dropped past this many


@dataclass
class _Run:
    span: Span
    context: Any
    started_ns: int


_tracer: Tracer | None = None
_runs: OrderedDict[str, _Run] = OrderedDict()
_runs_lock = threading.Lock()  # the chat's threads and in-process evals record from several threads at once


def install(provider: TracerProvider | None) -> None:
    """Trace investigations with ``provider`` (None: stop). ``configure_from_settings`` calls it; tests call it with
    an in-memory exporter."""
    global _tracer
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
    sql_spans.install(_tracer)
    with _runs_lock:
        _runs.clear()


def configure_from_settings() -> None:
    """Set up the SDK and the instrumentations when tracing is on (called once per process, at start-up)."""
    if not settings.OTEL_ENABLED:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name (the SDK reads them).
    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    exporter: SpanExporter
    if settings.OTEL_EXPORTER == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT / _HEADERS / _TIMEOUT, as the SDK documents
    # The batch processor re-creates its export thread in a forked child (Celery's prefork pool) by itself.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # Django's middleware is inserted here, before the ASGI/WSGI handler loads the middleware list: after the probes
    # and /metrics, which answer whatever Host a load balancer sends (the instrumentation's own default, first in the
    # list, reads the Host of every request and turns a probe with an unlisted one into a 400).
    after_probes = list(settings.MIDDLEWARE).index(PROBES_MIDDLEWARE) + 1
    DjangoInstrumentor().instrument(tracer_provider=provider, middleware_position=after_probes)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    install(provider)
    log.info("tracing_on", exporter=settings.OTEL_EXPORTER, service=settings.OTEL_SERVICE_NAME)


def _ns(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1e9) if moment is not None else None


def _run_for(investigation_id: str, investigation: Any, started_ns: int) -> _Run | None:
    if _tracer is None or not investigation_id:
        return None
    with _runs_lock:
        run = _runs.get(investigation_id)
        if run is not None:
            return run
        attributes: dict[str, AttributeValue] = {
            "gaby.investigation.id": investigation_id,
            "gaby.client": str(getattr(connection, "schema_name", "")),
        }
        if investigation is not None:
            attributes |= {
                "gaby.ticket.id": str(investigation.ticket_id),
                "gaby.investigation.attempt": int(investigation.attempts),
                "gaby.investigation.depth": str(investigation.depth),
                "gaby.investigation.triggered_by": str(investigation.triggered_by),
            }
            started_ns = min(started_ns, _ns(investigation.started_at) or started_ns)
        span = _tracer.start_span("investigation", start_time=started_ns, attributes=attributes)
        run = _Run(span=span, context=trace.set_span_in_context(span), started_ns=started_ns)
        _runs[investigation_id] = run
        while len(_runs) > OPEN_RUNS_KEPT:
            _, dropped = _runs.popitem(last=False)
            dropped.span.set_status(Status(StatusCode.ERROR, "the run never concluded in this process"))
            dropped.span.end()
        return run


def step_recorded(step: InvestigationStep) -> None:
    """A timeline row was written: its span (and its tool call's), under the investigation's."""
    if _tracer is None:
        return
    from apps.agent.models import InvestigationStep

    end = time.time_ns()
    start = end - step.duration_ms * 1_000_000
    row_written = sql_spans.last_started_ns()  # the step's span also covers the write of its own timeline row
    start = min(start, row_written) if row_written is not None else start
    cached = step.investigation if InvestigationStep.investigation.is_cached(step) else None
    run = _run_for(str(step.investigation_id), cached, start)
    if run is None:
        return
    attributes: dict[str, AttributeValue] = {
        "gaby.step.kind": str(step.kind),
        "gaby.step.ordinal": int(step.ordinal),
        "gaby.step.system": step.system,
        "gaby.step.title": step.title,
    }
    span = _tracer.start_span(f"step.{step.kind}", context=run.context, start_time=start, attributes=attributes)
    action = step.action if InvestigationStep.action.is_cached(step) else None
    if action is not None:
        name = "tool.call" if action.access == "read" else "tool.action"
        tool = _tracer.start_span(
            name,
            context=trace.set_span_in_context(span),
            start_time=max(start, _ns(action.created_at) or start),
            attributes={
                "gaby.tool.name": action.tool_name,
                "gaby.tool.access": str(action.access),
                "gaby.gate.outcome": str(action.outcome),
                "gaby.gate.risk": int(action.risk),
                "gaby.tool.status": str(action.status),
                "gaby.tool.action_id": str(action.pk),
            },
        )
        if action.result_is_error or action.status in ("failed", "denied"):
            tool.set_status(Status(StatusCode.ERROR, str(action.status)))
        tool.end(end_time=min(end, _ns(action.executed_at) or end))
    span.end(end_time=end)
    sql_spans.flush(
        sql_spans.Window(run.started_ns, run.context), sql_spans.Window(start, trace.set_span_in_context(span))
    )


def llm_call_recorded(call: LLMCall) -> None:
    """A model call was recorded: an ``llm.call`` span under its investigation's (the budget key), else alone."""
    if _tracer is None:
        return
    end = time.time_ns()
    start = end - call.latency_ms * 1_000_000
    run = _run_for(call.budget_key, None, start) if call.budget_key else None
    span = _tracer.start_span(
        "llm.call",
        context=run.context if run is not None else None,
        start_time=start,
        attributes={
            # OpenTelemetry's GenAI semantic conventions, where they name the same thing.
            "gen_ai.system": str(call.provider_kind),
            "gen_ai.request.model": call.model,
            "gen_ai.usage.input_tokens": int(call.input_tokens),
            "gen_ai.usage.output_tokens": int(call.output_tokens),
            "gaby.llm.workflow": str(call.workflow),
            "gaby.llm.provider": call.provider_name,
            "gaby.llm.prompt": f"{call.prompt_name}@{call.prompt_version}",
            "gaby.llm.status": str(call.status),
            "gaby.llm.cost_usd": float(call.cost_usd or 0),
        },
    )
    if call.status != "ok":
        span.set_status(Status(StatusCode.ERROR, call.error[:200] or str(call.status)))
    span.end(end_time=end)


def investigation_ended(investigation_id: str, *, verdict: str, decided_by: str) -> None:
    """The conclusion's (or failure's) audit event: the root span ends with the verdict."""
    with _runs_lock:
        run = _runs.pop(investigation_id, None)
    if run is None:
        return
    sql_spans.flush(sql_spans.Window(run.started_ns, run.context))  # the conclusion's own queries
    run.span.set_attribute("gaby.verdict", verdict)
    run.span.set_attribute("gaby.decided_by", decided_by)
    if verdict == "failed":
        run.span.set_status(Status(StatusCode.ERROR, "investigation failed"))
    run.span.end()
