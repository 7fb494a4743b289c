"""Run the corpus through the real engine, in-process: ingest each ticket, investigate it, observe, score."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django_tenants.utils import tenant_context

from apps.agent.engine import execute
from apps.agent.evals.corpus import Case
from apps.agent.evals.environment import Environment
from apps.agent.evals.scoring import Call, CaseResult, Observation, Report, score
from apps.agent.investigations import start_investigation
from apps.agent.models import Investigation, InvestigationStep
from apps.knowledge.models import Chunk
from apps.safety.policy import ToolClass
from apps.tickets import services as tickets
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket


def _observe(investigation: Any, seconds: float) -> Observation:
    chunk_ids = [c["ref"] for c in investigation.citations if c.get("kind") == "knowledge"]
    documents = Chunk.objects.filter(pk__in=chunk_ids).values_list("document__uri", flat=True)
    steps = InvestigationStep.objects.filter(investigation=investigation, action__isnull=False)
    actions = [step.action for step in steps.select_related("action__connector") if step.action is not None]
    calls = tuple(
        Call(
            name=f"{action.connector.kind}.{action.tool_name}",
            write=action.access == ToolClass.WRITE,
            status=action.status,
        )
        for action in actions
    )
    return Observation(
        verdict=investigation.verdict,
        cited_documents=tuple(sorted(set(documents))),
        calls=calls,
        seconds=seconds,
        tokens=investigation.tokens,
        cost_usd=Decimal(investigation.cost_usd),
        decided_by=investigation.decided_by,
        failure=investigation.failure_reason,
        reply=investigation.reply,
        kind=str((investigation.assessment or {}).get("kind", "")),
        reason=investigation.escalation_reason or "",
    )


def investigate_ticket(
    env: Environment, *, external_id: str, title: str, body: str, email: str, name: str, source: Any = None
) -> tuple[Any, float]:
    """Ingest one ticket into the eval's source (or ``source``, another client's inbox) and investigate it in this
    process, inside the caller's ``tenant_context`` of that client: the investigation as stored afterwards, and
    the seconds the run took."""

    normalized = NormalizedTicket(
        external_id=external_id,
        title=title,
        body=body,
        contact=NormalizedContact(email=email, name=name),
        messages=(NormalizedMessage(external_id=f"{external_id}/1", body=body),),
    )
    ticket = tickets.ingest_ticket(source=source or env.source, normalized=normalized).ticket
    started = time.monotonic()
    investigation = start_investigation(ticket=ticket, triggered_by="eval", queue=False)
    execute(investigation.pk)
    seconds = time.monotonic() - started
    return Investigation.objects.get(pk=investigation.pk), seconds


def run_case(env: Environment, case: Case, *, run: int) -> CaseResult:
    env.reset()  # every case starts from the seeded stand-ins: what one case changed never decides another
    client, source = env.target(case.client)
    with tenant_context(client):
        investigation, seconds = investigate_ticket(
            env,
            source=source,
            external_id=f"{case.id}#{run}",
            title=case.title,
            body=case.body,
            email=case.sender,
            name=case.sender_name,
        )
        return score(case, _observe(investigation, seconds))


def run_eval(
    env: Environment, cases: list[Case], *, repeat: int, mode: str, progress: Callable[[CaseResult], None] | None = None
) -> Report:
    report = Report(mode=mode)
    for run in range(1, repeat + 1):
        for case in cases:
            result = run_case(env, case, run=run)
            report.add(result)
            if progress is not None:
                progress(result)
    return report
