"""A span per SQL query while tracing is on, under the investigation step (or request, or task) that ran it.

No psycopg instrumentation matches the pinned OpenTelemetry (``opentelemetry-instrumentation-psycopg`` stops at
0.66b1, which requires ``opentelemetry-instrumentation==0.66b1``; Gaby pins 0.66b2), so each query is timed by
Django's documented database instrumentation hook (``connection.execute_wrapper``): ``attach`` adds
``trace_query`` to the ``execute_wrappers`` list that hook's context manager appends to, on every connection as it
opens, for the connection's whole life instead of one ``with`` block.

The statement is recorded as Django sends it, with its ``%s`` placeholders: the parameters (customer text,
addresses, secrets) never reach a span. Attributes follow OpenTelemetry's database conventions (``db.system``,
``db.name``, ``db.statement``, ``db.operation``), plus ``gaby.client``: the schema the query ran in.

Why the spans wait: an investigation's step spans are built from its timeline rows once each step has ended
(apps/observability/tracing.py), after the queries that step ran. So a query is kept in its thread until the
step's row arrives, then becomes a child of that step's span when it started within the step, of the
investigation's when it started between steps, or else of the span current when it ran (a request's, a task's);
a query in none of them (a shell's, a script's) is in no trace and makes no span.
A request or task that ends hands what it kept to those spans; so does a thread holding more than
``PENDING_KEPT`` queries without a step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery.signals import task_postrun
from django.core.signals import request_finished
from django.db import connections
from django.db.backends.signals import connection_created
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

PENDING_KEPT = 2000
STATEMENT_CHARS = 4000  # a bulk insert's statement can run to megabytes of placeholders


@dataclass(frozen=True)
class _Query:
    start_ns: int
    end_ns: int
    statement: str
    database: str
    schema: str
    many: bool
    error: str | None
    parent: Context  # the context current when it ran


@dataclass(frozen=True)
class Window:
    """Spans that claim the queries started since ``start_ns`` (a step's or an investigation's)."""

    start_ns: int
    context: Context


_tracer: Tracer | None = None
_local = threading.local()


def _pending() -> list[_Query]:
    pending: list[_Query] | None = getattr(_local, "queries", None)
    if pending is None:
        pending = _local.queries = []
    return pending


def install(tracer: Tracer | None) -> None:
    """Time every query with ``tracer`` (None: stop; connections keep the wrapper, which then only calls on)."""
    global _tracer
    _tracer = tracer
    _pending().clear()
    if tracer is None:
        return
    connection_created.connect(attach, dispatch_uid="observability.sql_spans")
    request_finished.connect(flush_on_end, dispatch_uid="observability.sql_spans.request")
    task_postrun.connect(flush_on_end, dispatch_uid="observability.sql_spans.task")
    for connection in connections.all(initialized_only=True):  # this thread's, opened before tracing began
        attach(connection=connection)


def attach(sender: Any = None, *, connection: Any, **_: Any) -> None:
    """connection_created: time this connection's queries (once, however often it reconnects)."""
    if trace_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(trace_query)


def _text(sql: Any, connection: Any) -> str:
    if isinstance(sql, str):
        return sql[:STATEMENT_CHARS]
    try:  # psycopg's sql.Composed (identifiers quoted by psycopg): its text, still without parameters
        return str(sql.as_string(connection.connection))[:STATEMENT_CHARS]
    except Exception:  # a span must never fail the query it describes
        return str(sql)[:STATEMENT_CHARS]


def trace_query(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """The execute wrapper: run the query, and keep when and what it was for its span."""
    if _tracer is None:
        return execute(sql, params, many, context)
    started = time.time_ns()
    error: str | None = None
    try:
        return execute(sql, params, many, context)
    except Exception as exc:
        error = exc.__class__.__name__
        raise
    finally:
        connection = context["connection"]
        pending = _pending()
        pending.append(
            _Query(
                start_ns=started,
                end_ns=time.time_ns(),
                statement=_text(sql, connection),
                database=str(connection.settings_dict.get("NAME") or ""),
                schema=str(getattr(connection, "schema_name", "") or ""),
                many=many,
                error=error,
                parent=otel_context.get_current(),
            )
        )
        if len(pending) > PENDING_KEPT:  # a thread that never ends a step, request or task: hand the oldest on
            flush()


def last_started_ns() -> int | None:
    """When this thread's newest kept query started: in a post_save receiver, the INSERT of the row just saved."""
    pending = _pending()
    return pending[-1].start_ns if pending else None


def flush(*windows: Window) -> None:
    """Turn this thread's kept queries into spans: each under the latest window it started in, else its own
    parent. ``windows`` go from the widest (the investigation) to the narrowest (the step)."""
    tracer = _tracer
    pending = _pending()
    queries, pending[:] = list(pending), []
    if tracer is None:
        return
    for query in queries:
        parent: Context | None = (
            query.parent if trace.get_current_span(query.parent).get_span_context().is_valid else None
        )
        for window in windows:
            if query.start_ns >= window.start_ns:
                parent = window.context
        if parent is not None:  # a query in no trace (a shell, a test's set-up) would be a trace of its own
            _emit(tracer, query, parent)


def _emit(tracer: Tracer, query: _Query, parent: Context) -> None:
    operation = query.statement.lstrip().split(None, 1)[0].upper() if query.statement.strip() else "SQL"
    span = tracer.start_span(
        f"{operation} {query.database}".strip(),
        context=parent,
        kind=SpanKind.CLIENT,
        start_time=query.start_ns,
        attributes={
            "db.system": "postgresql",
            "db.name": query.database,
            "db.operation": operation,
            "db.statement": query.statement,
            "gaby.client": query.schema,
            "gaby.db.executemany": query.many,
        },
    )
    if query.error:
        span.set_status(Status(StatusCode.ERROR, query.error))
    span.end(end_time=query.end_ns)


def flush_on_end(**_: Any) -> None:
    """request_finished, task_postrun: what the request or task ran goes under its spans."""
    if _tracer is not None:
        flush()
