"""The investigation engine: claim, run the deciders through the context, conclude (or fail with a reason).

Which decider concludes, in order:

0. the ticket is **read** first (apps/agent/guards.py): its requester, kind, language, whether it is about
   someone else's account, and suspicion flags. A flagged ticket runs no playbook; a model may still
   investigate it (the gate holds every write), and it escalates with its evidence either way;
1. a **playbook** (``apps.agent.playbooks.decide(context) -> Finding | None``), when that package is installed,
   one matches the ticket and the ticket is the requester's own business — with or without a model;
2. the **LLM loop** (``apps/agent/loop.py``) when a verdict model is configured;
3. a **knowledge answer** (``apps/agent/knowledge_answer.py``) otherwise, for a question only: no LLM is a mode,
   not an error; any other kind escalates with the reason.

Whatever decided, the reply is checked before it is stored (``guard_reply``): another person's data blocks it.

Claiming: a queued investigation is taken with a conditional UPDATE (queued → running, attempts + 1). A
redelivered task (the worker died: acks late, reject on worker lost) finds it running; once its heartbeat
is older than the lease it takes it over (attempts + 1) and resumes — the tool calls already made return
their recorded actions (idempotency keys), and the conclusion is conditional on owning the attempt, so
nothing is written twice. After ``AGENT_MAX_ATTEMPTS`` it fails cleanly instead.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from django.conf import settings
from django.db import connection, connections
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.agent import playbooks  # type: ignore[attr-defined,unused-ignore]
from apps.agent.context import RunContext
from apps.agent.contracts import Finding, InvestigationContext, StepKind, TicketView, Verdict
from apps.agent.guards import assess_ticket, flagged, guard_reply, kind_finding, suspicious_finding
from apps.agent.knowledge_answer import answer_from_knowledge
from apps.agent.live import RunAnnouncer
from apps.agent.loop import LLMDecider
from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.agent.playbooks.request_kind import Kind, asks_about_own_state
from apps.agent.playbooks.request_kind import classify as classify_request
from apps.agent.runtime import current_client
from apps.agent.triage import Assessment, TicketKind
from apps.agent.writeback import conclude, fail
from apps.core import publisher
from apps.llm.budget import Budget, BudgetExceeded, LLMError, NoModelConfigured
from apps.llm.gateway import LLMGateway
from apps.llm.models import ModelRoute, Workflow

log = structlog.get_logger(__name__)
PLAYBOOKS_MODULE = "apps.agent.playbooks"


@dataclass(frozen=True)
class Busy:
    """Another live run holds it; try again after ``wait_seconds``."""

    wait_seconds: float


def try_playbook(context: InvestigationContext) -> Finding | None:
    """The playbook hook: tried first, in both modes. Absent package → no playbooks (imported lazily)."""
    if importlib.util.find_spec(PLAYBOOKS_MODULE) is None:
        return None

    finding: Finding | None = playbooks.decide(context)
    return finding


def llm_configured() -> bool:
    return ModelRoute.objects.filter(workflow=Workflow.VERDICT, provider__enabled=True).exists()


def asks_about_nothing_of_theirs(assessment: Assessment, ticket: TicketView) -> bool:
    """A question that reports no problem with the requester's own things and asks us to do nothing ("if we cancel
    on the 10th, do we get the rest back?"): the help center's to answer, even where a playbook's topic fits."""
    return assessment.kind is TicketKind.QUESTION and classify_request(ticket.english).kind is not Kind.ACTIONABLE


def answers_instead(finding: Finding, assessment: Assessment, ticket: TicketView) -> bool:
    """A playbook that could not find the requester, on a question the knowledge base may answer and that does not
    ask about the state of the requester's own things ("is my subscription active?" needs their account)."""
    return (
        finding.unknown_requester
        and assessment.kind is TicketKind.QUESTION
        and assessment.knowledge_may_answer
        and not assessment.suspicious
        and not asks_about_own_state(ticket.english)
    )


def decide(context: RunContext, *, gateway: LLMGateway | None = None) -> Finding:
    assessment = assess_ticket(context)
    agent_settings = context.agent_settings
    gateway = gateway or LLMGateway(current_client())
    with_model = gateway.route(Workflow.VERDICT) is not None  # the routes are read once, for the whole run
    answered: Finding | None = None
    if assessment.may_act and not with_model and asks_about_nothing_of_theirs(assessment, context.ticket):
        # Without a model, such a question goes to the knowledge base before any playbook: a playbook that fits its
        # topic would look up (or act on) an account that nobody asked about.
        answered = answer_from_knowledge(
            context, threshold=agent_settings.knowledge_threshold, questions=assessment.questions
        )
        if answered.verdict is Verdict.AUTO_RESOLVED:
            return answered
    finding = try_playbook(context) if assessment.may_act else None
    if finding is not None and not with_model and answers_instead(finding, assessment, context.ticket):
        # The playbook found no account of the requester's, so there is nothing of theirs to act on or look up; a
        # how-to question in their ticket ("can I use my backup codes?") can still be answered from the help center.
        answered = answered or answer_from_knowledge(
            context, threshold=agent_settings.knowledge_threshold, questions=assessment.questions
        )
        if answered.verdict is Verdict.AUTO_RESOLVED:
            return answered
    if finding is not None:
        return finding
    if with_model:
        investigation = context.investigation
        budget = Budget(
            str(investigation.pk),
            max_tokens=agent_settings.max_tokens,
            max_usd=agent_settings.max_usd,
            requested_by=requested_by(investigation),
        )
        if context.fresh:
            budget.start_empty()  # the investigation's own key: only this run's calls can be under it
        context.budget = budget
        try:
            # A flagged ticket is still investigated (the gate holds every write it asks for), then escalated.
            found = LLMDecider(context, client=gateway.client, budget=budget, gateway=gateway).investigate()
            # A possible compromise too: the model may read, a technician decides (its writes were held).
            return flagged(found, assessment) if assessment.suspicious or assessment.compromise else found
        except NoModelConfigured:
            pass  # the verdict route went away mid-run: answer without a model
    if assessment.suspicious:
        return suspicious_finding(assessment)
    if not assessment.knowledge_may_answer:
        return kind_finding(assessment)  # the knowledge fallback closes only questions
    if answered is not None:
        return answered  # asked before the playbooks, which did not fit either
    return answer_from_knowledge(context, threshold=agent_settings.knowledge_threshold, questions=assessment.questions)


def requested_by(investigation: Investigation) -> str:
    """Who the investigation's model calls are for (the cost ledger's "user"): the operator who started it, else
    the ticket's requester."""
    if investigation.triggered_by_user_id is not None:
        return f"user:{investigation.triggered_by_user_id}"
    contact = investigation.ticket.contact
    if contact is None:
        return ""
    return f"contact:{contact.email or contact.pk}"


def execute(investigation_id: UUID | str, *, gateway: LLMGateway | None = None) -> str | Busy:
    """Claim and run one investigation; returns what happened ("done", "failed", "gone", ...) or ``Busy``."""
    now = timezone.now()
    resumed = False
    if not Investigation.objects.filter(pk=investigation_id, status=InvestigationStatus.QUEUED).update(
        status=InvestigationStatus.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now
    ):
        outcome = _take_over(investigation_id, now)
        if not isinstance(outcome, bool):
            return outcome
        resumed = outcome
    # Read once, after the claim, with what the run needs (ticket, source, contact).
    claimed = Investigation.objects.select_related("ticket__source", "ticket__contact").filter(pk=investigation_id)
    investigation = claimed.first()
    if investigation is None:
        return "gone"  # deleted with its ticket meanwhile
    return run(investigation, resumed=resumed, gateway=gateway)


def _take_over(investigation_id: UUID | str, now: datetime) -> bool | str | Busy:
    """Not queued: True when a dead run's lease expired and this one took it over; else what to return."""
    investigation = Investigation.objects.filter(pk=investigation_id).first()
    if investigation is None:
        return "gone"
    if investigation.status != InvestigationStatus.RUNNING:
        return "finished"
    lease = timedelta(seconds=settings.AGENT_LEASE_SECONDS)
    age = now - (investigation.heartbeat_at or investigation.started_at or now)
    if age < lease:
        return Busy((lease - age).total_seconds() + 0.5)
    if investigation.attempts >= settings.AGENT_MAX_ATTEMPTS:
        fail(
            investigation=investigation,
            attempt=investigation.attempts,
            reason=f"The worker stopped {investigation.attempts} times while running it; giving up.",
        )
        return "failed"
    if not Investigation.objects.filter(
        pk=investigation.pk, status=InvestigationStatus.RUNNING, attempts=investigation.attempts
    ).update(attempts=F("attempts") + 1, heartbeat_at=now):
        return Busy(settings.AGENT_LEASE_SECONDS)
    return True


def run(investigation: Investigation, *, resumed: bool = False, gateway: LLMGateway | None = None) -> str:
    with structlog.contextvars.bound_contextvars(investigation=str(investigation.pk), attempt=investigation.attempts):
        try:
            return _run(investigation, resumed=resumed, gateway=gateway)
        finally:
            # Live events leave without the run waiting for each; it ends once they have all been sent.
            publisher.flush()


def _run(investigation: Investigation, *, resumed: bool, gateway: LLMGateway | None) -> str:
    attempt = investigation.attempts
    announcer = RunAnnouncer()
    context = RunContext(investigation, on_step=announcer, fresh=not resumed)
    announcer.status(investigation)
    heartbeat = Heartbeat(investigation.pk, attempt, connection.schema_name)  # type: ignore[attr-defined]
    heartbeat.start()
    try:
        if resumed:
            context.record_step(
                StepKind.READ,
                system="gaby",
                title=f"Resumed after the worker stopped (attempt {attempt}): calls already made are not repeated",
            )
        try:
            finding = guard_reply(context, decide(context, gateway=gateway))
        except BudgetExceeded as exc:
            fail(investigation=investigation, attempt=attempt, reason=f"Budget stop: {exc}")
            return "failed"
        except LLMError as exc:
            fail(investigation=investigation, attempt=attempt, reason=f"The model could not answer: {exc}")
            return "failed"
        except Exception as exc:  # a bug or an outage must end the run visibly, never leave it running
            log.exception("investigation_crashed")
            fail(investigation=investigation, attempt=attempt, reason=f"Unexpected error: {type(exc).__name__}: {exc}")
            return "failed"

        def record_verdict() -> None:
            context.record_step(
                StepKind.VERDICT,
                system=finding.decided_by or "gaby",
                title=f"Verdict: {VerdictChoice(finding.verdict.value).label}",
                detail=finding.summary,
                data={
                    "verdict": finding.verdict.value,
                    "confidence": finding.confidence,
                    "is_infra": finding.is_infra,
                    "escalation_reason": finding.escalation_reason,
                    "decided_by": finding.decided_by,
                },
                citations=tuple(finding.citations),
            )

        concluded = conclude(
            investigation=investigation,
            attempt=attempt,
            finding=finding,
            agent_settings=context.agent_settings,
            record_verdict=record_verdict,
            spent=context.spent(),
            assessment=context.assessment.as_dict() if context.assessment is not None else None,
        )
        return "done" if concluded else "superseded"
    finally:
        heartbeat.stop()


class Heartbeat(threading.Thread):
    """Keeps ``heartbeat_at`` fresh while a long model or tool call blocks the run (its own connection)."""

    def __init__(self, investigation_id: Any, attempt: int, schema: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{investigation_id}")
        self.investigation_id, self.attempt, self.schema = investigation_id, attempt, schema
        self.interval = max(0.2, settings.AGENT_LEASE_SECONDS / 3)
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            with schema_context(self.schema):
                while not self._stop_event.wait(self.interval):
                    Investigation.objects.filter(
                        pk=self.investigation_id, status=InvestigationStatus.RUNNING, attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
        except Exception:
            log.warning("heartbeat_stopped", exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
