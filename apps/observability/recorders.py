"""What moves the counters: the other apps' own rows and audit events, heard through Django and Celery signals.

Nothing here edits the engine: an investigation's conclusion is its audit event, a step is its timeline row, a gate
decision is the ``ToolAction`` the gate stores, a model call is its ``LLMCall`` record. Each figure is counted when
its transaction commits (``on_commit``), so a rolled-back change is never counted, and counting reads nothing from
the database: the query budgets of an investigation (tests/agent/test_query_budget.py) stay as they were.
Every receiver also tells the tracer (apps/observability/tracing.py), which is a no-op unless tracing is on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.db import transaction
from django.db.models.signals import post_save

from apps.agent.models import InvestigationStep
from apps.auditlog.models import AuditEvent
from apps.chat.models import Conversation
from apps.llm.models import LLMCall
from apps.observability import metrics, tracing
from apps.observability.labels import client_label, decider_label
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import Ticket

APPROVAL_EVENTS = {"approval.approved": "approved", "approval.rejected": "rejected", "approval.expired": "expired"}
FINISHED_ACTION = {ActionStatus.DONE, ActionStatus.FAILED, ActionStatus.DRY_RUN}
_task_started: dict[str, float] = {}


def _on_commit(count: Callable[[], None]) -> None:
    transaction.on_commit(count)


def audit_event(sender: Any, instance: AuditEvent, created: bool, **_: Any) -> None:
    if not created:
        return
    event, payload, client = instance.event, instance.payload or {}, client_label()
    if event == "investigation.concluded":
        verdict, decider = str(payload.get("verdict", "")), decider_label(str(payload.get("decided_by", "")))
        _on_commit(lambda: metrics.INVESTIGATIONS.labels(client, verdict, decider).inc())
        tracing.investigation_ended(str(payload.get("investigation", "")), verdict=verdict, decided_by=decider)
    elif event == "investigation.failed":
        _on_commit(lambda: metrics.INVESTIGATIONS.labels(client, "failed", "failed").inc())
        tracing.investigation_ended(str(payload.get("investigation", "")), verdict="failed", decided_by="failed")
    elif event in APPROVAL_EVENTS:
        decision = APPROVAL_EVENTS[event]
        _on_commit(lambda: metrics.APPROVAL_DECISIONS.labels(client, decision).inc())


def investigation_step(sender: Any, instance: InvestigationStep, created: bool, **_: Any) -> None:
    if not created:
        return
    kind, seconds = str(instance.kind), instance.duration_ms / 1000
    _on_commit(lambda: metrics.STEP_LATENCY.labels(kind).observe(seconds))
    tracing.step_recorded(instance)


def tool_action(sender: Any, instance: ToolAction, created: bool, update_fields: Any = None, **_: Any) -> None:
    client, access = client_label(), str(instance.access)
    if created:
        outcome = str(instance.outcome)
        _on_commit(lambda: metrics.GATE_DECISIONS.labels(client, outcome, access).inc())
    elif update_fields and "executed_at" in update_fields and instance.status in FINISHED_ACTION:
        # The gate stores the result with its time (apps/safety/enforcement.py _finish): decision → result.
        status = str(instance.status)
        seconds = (
            max(0.0, (instance.executed_at - instance.created_at).total_seconds()) if instance.executed_at else 0.0
        )
        _on_commit(lambda: metrics.TOOL_CALL_LATENCY.labels(access, status).observe(seconds))


def llm_call(sender: Any, instance: LLMCall, created: bool, **_: Any) -> None:
    if not created:
        return
    client, provider = client_label(), str(instance.provider_kind)
    workflow, status = str(instance.workflow), str(instance.status)
    tokens_in, tokens_out, cost = instance.input_tokens, instance.output_tokens, float(instance.cost_usd or 0)
    seconds = instance.latency_ms / 1000

    def count() -> None:
        metrics.LLM_CALLS.labels(client, provider, workflow, status).inc()
        metrics.LLM_TOKENS.labels(client, provider, "input").inc(tokens_in)
        metrics.LLM_TOKENS.labels(client, provider, "output").inc(tokens_out)
        metrics.LLM_COST.labels(client, provider).inc(cost)
        metrics.LLM_LATENCY.labels(provider).observe(seconds)

    _on_commit(count)
    tracing.llm_call_recorded(instance)


def conversation(sender: Any, instance: Conversation, created: bool, **_: Any) -> None:
    if created:
        client = client_label()
        _on_commit(lambda: metrics.WIDGET_SESSIONS.labels(client).inc())


def ticket(sender: Any, instance: Ticket, created: bool, **_: Any) -> None:
    if not created:
        return
    # The source row is in memory when a service made the ticket; never read it just to label a count.
    source = instance.source.kind if Ticket.source.is_cached(instance) else "unknown"
    client = client_label()
    _on_commit(lambda: metrics.INGESTED_TICKETS.labels(client, source).inc())


def task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    name = getattr(task, "name", None) or "unknown"
    started = _task_started.pop(task_id or "", None)
    metrics.TASKS.labels(name, state or "UNKNOWN").inc()
    if started is not None:
        metrics.TASK_LATENCY.labels(name).observe(time.monotonic() - started)


def connect() -> None:
    post_save.connect(audit_event, sender=AuditEvent, dispatch_uid="observability.audit_event")
    post_save.connect(investigation_step, sender=InvestigationStep, dispatch_uid="observability.step")
    post_save.connect(tool_action, sender=ToolAction, dispatch_uid="observability.tool_action")
    post_save.connect(llm_call, sender=LLMCall, dispatch_uid="observability.llm_call")
    post_save.connect(conversation, sender=Conversation, dispatch_uid="observability.conversation")
    post_save.connect(ticket, sender=Ticket, dispatch_uid="observability.ticket")
    task_prerun.connect(task_started, dispatch_uid="observability.task_started")
    task_postrun.connect(task_finished, dispatch_uid="observability.task_finished")
