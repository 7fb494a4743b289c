"""Concluding an investigation: store the finding and write back by autonomy, in one transaction.

* **act** — the reply is sent to the customer through ``apps.tickets.services.reply`` (delivered once by
  ``apps/tickets/delivery.py``) and the ticket's status follows the verdict;
* **propose** — the reply is kept as a draft an operator applies with one click (``investigations.apply_reply``);
* **investigate** — the reply and the summary become an internal note.

Escalations (needs_tech, needs_l2, failed) assign the ticket to the client's escalation assignee, attach
the evidence bundle (timeline, queries, results, citations) as an internal note and as JSON, and announce
it by email. The conclusion is conditional on the run still owning the investigation (status and attempt),
so a redelivered or swept run can never write back twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import structlog
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.agent.contracts import Finding, StepKind, Verdict
from apps.agent.learning import propose_from_resolution
from apps.agent.live import announce_investigation
from apps.agent.models import AgentSettings, Investigation, InvestigationStatus, ReplyState, VerdictChoice
from apps.agent.runtime import settings_for, try_status
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.core.tasks import enqueue
from apps.llm.budget import Budget
from apps.safety.policy import Autonomy
from apps.tickets import services as tickets
from apps.tickets.models import Attachment, MessageKind, Status

log = structlog.get_logger(__name__)
GABY = "Gaby"
ESCALATIONS = {Verdict.NEEDS_TECH, Verdict.NEEDS_L2, Verdict.FAILED}


def conclude(
    *,
    investigation: Investigation,
    attempt: int,
    finding: Finding,
    agent_settings: AgentSettings | None = None,
    record_verdict: Callable[[], object] | None = None,
    spent: tuple[int, Decimal] | None = None,
    assessment: dict[str, Any] | None = None,
) -> bool:
    """Store ``finding`` and write back; False when this run no longer owns the investigation.

    ``agent_settings``: the run's settings when the caller has them (read once per run); ``record_verdict``:
    records the verdict step in the same transaction, so it is on the timeline exactly when the conclusion is
    stored; ``spent``: the run's tokens and dollars when it tallied every call (else the calls are summed);
    ``assessment``: how the run read the ticket (apps/agent/guards.py), kept with the conclusion.
    ``investigation`` is brought up to date with what was stored."""
    with transaction.atomic():
        locked = _owned(investigation, attempt, InvestigationStatus.RUNNING)
        if locked is None:
            return False
        if record_verdict is not None:
            record_verdict()
        tokens, usd = spent if spent is not None else Budget(str(locked.pk)).spent()
        locked.status = InvestigationStatus.DONE
        locked.verdict = str(finding.verdict)
        locked.confidence = round(float(finding.confidence), 4)
        locked.summary = finding.summary
        locked.escalation_reason = finding.escalation_reason
        locked.reply = finding.reply.strip()
        locked.citations = [c.as_dict() for c in finding.citations]
        locked.is_infra = finding.is_infra
        locked.infra_evidence = [c.as_dict() for c in finding.infra_evidence]
        locked.decided_by = finding.decided_by[:100]
        if assessment is not None:
            locked.assessment = assessment
        locked.tokens, locked.cost_usd = tokens, usd
        locked.finished_at = timezone.now()
        propose_from_resolution(locked)
        # The write-back's audit events take the schema's audit lock, held to the commit: the fewer statements
        # after them, the shorter other runs wait.
        _write_back(locked, finding, agent_settings or settings_for())
        locked.save()
        record(
            event="investigation.concluded",
            actor_kind=ActorKind.AGENT,
            payload={
                "investigation": str(locked.pk),
                "verdict": locked.verdict,
                "reply_state": locked.reply_state,
                "decided_by": locked.decided_by,
                "tokens": tokens,
                "cost_usd": str(usd),
            },
        )
        transaction.on_commit(lambda: announce_investigation(locked))
    return True


def fail(
    *, investigation: Investigation, attempt: int, reason: str, expected: str = InvestigationStatus.RUNNING
) -> bool:
    """End the investigation as failed with ``reason`` and escalate the ticket to a person."""
    with transaction.atomic():
        locked = _owned(investigation, attempt, expected)
        if locked is None:
            return False
        tokens, usd = Budget(str(locked.pk)).spent()
        last = locked.steps.order_by("-ordinal").values_list("ordinal", flat=True).first() or 0
        locked.steps.create(
            ordinal=last + 1, kind=StepKind.VERDICT, system="gaby", title="Investigation failed", detail=reason
        )
        locked.status = InvestigationStatus.FAILED
        locked.verdict = Verdict.FAILED
        locked.failure_reason = reason
        locked.escalation_reason = reason
        locked.tokens, locked.cost_usd = tokens, usd
        locked.finished_at = timezone.now()
        _escalate(locked, settings_for())
        locked.save()
        record(
            event="investigation.failed",
            actor_kind=ActorKind.AGENT,
            payload={"investigation": str(locked.pk), "reason": reason[:2000]},
        )
        transaction.on_commit(lambda: announce_investigation(locked))
    return True


def _owned(investigation: Investigation, attempt: int, status: str) -> Investigation | None:
    """``investigation``, its row locked until the transaction ends, when it still has ``status`` and this run's
    ``attempt``; else None. Only the two fields are read: the caller's copy is the one written back."""
    found = Investigation.objects.select_for_update().filter(pk=investigation.pk).values_list("status", "attempts")
    current = found.first()
    if current is None:
        raise Investigation.DoesNotExist(f"Investigation {investigation.pk} is gone.")
    if current != (status, attempt):
        log.info(
            "investigation_not_owned",
            investigation=str(investigation.pk),
            status=current[0],
            attempts=current[1],
            attempt=attempt,
        )
        return None
    investigation.status, investigation.attempts = current
    return investigation


def _write_back(investigation: Investigation, finding: Finding, agent_settings: AgentSettings) -> None:
    ticket = investigation.ticket
    reply = finding.reply.strip()
    autonomy = Autonomy(investigation.autonomy or Autonomy.INVESTIGATE)
    if finding.verdict in ESCALATIONS:
        investigation.reply_state = ReplyState.DRAFTED if reply else ReplyState.NONE
        _escalate(investigation, agent_settings)
        return
    if not reply:
        investigation.reply_state = ReplyState.NONE
        return
    if autonomy is Autonomy.ACT:
        message = tickets.reply(ticket=ticket, body=reply, kind=MessageKind.PUBLIC_REPLY, author=GABY)
        investigation.reply_state, investigation.reply_message_id = ReplyState.SENT, message.pk
        ticket.refresh_from_db(fields=["status"])
        target = Status.SOLVED if finding.verdict == Verdict.AUTO_RESOLVED else Status.PENDING
        try_status(ticket, target, None)
    elif autonomy is Autonomy.PROPOSE:
        investigation.reply_state = ReplyState.DRAFTED
    else:
        note = f"Gaby's proposed reply (investigate mode: not sent):\n\n{reply}\n\nSummary: {finding.summary}"
        message = tickets.reply(ticket=ticket, body=note, kind=MessageKind.INTERNAL_NOTE, author=GABY)
        investigation.reply_state, investigation.reply_message_id = ReplyState.NOTED, message.pk


def evidence_bundle(investigation: Investigation) -> dict[str, Any]:
    """SRE-7: everything a person needs to take over: the timeline with its queries, results and citations."""
    steps = []
    for step in investigation.steps.select_related("action").order_by("ordinal"):
        entry: dict[str, Any] = {
            "ordinal": step.ordinal,
            "kind": step.kind,
            "system": step.system,
            "title": step.title,
            "detail": step.detail,
            "data": step.data,
            "citations": step.citations,
            "at": step.created_at.isoformat() if step.created_at else None,
        }
        if step.action is not None:
            entry["action"] = {
                "id": str(step.action.pk),
                "tool": step.action.tool_name,
                "arguments": step.action.arguments,
                "status": step.action.status,
                "result": step.action.result_text[:4000],
            }
        steps.append(entry)
    return {
        "investigation": str(investigation.pk),
        "ticket": str(investigation.ticket_id),
        "title": investigation.ticket.title,
        "verdict": investigation.verdict,
        "confidence": investigation.confidence,
        "summary": investigation.summary,
        "reason": investigation.escalation_reason,
        "is_infra": investigation.is_infra,
        "infra_evidence": investigation.infra_evidence,
        "citations": investigation.citations,
        "tokens": investigation.tokens,
        "cost_usd": str(Decimal(investigation.cost_usd)),
        "timeline": steps,
    }


def bundle_note(bundle: dict[str, Any]) -> str:
    verdict = dict(VerdictChoice.choices).get(bundle["verdict"], bundle["verdict"])
    lines = [f"Gaby escalated this ticket: {verdict}.", ""]
    if bundle["reason"]:
        lines += [f"Why: {bundle['reason']}", ""]
    if bundle["summary"]:
        lines += [f"Summary: {bundle['summary']}", ""]
    if bundle["is_infra"] is not None:
        lines += [f"Infrastructure issue: {'yes' if bundle['is_infra'] else 'no'}", ""]
    lines.append("Timeline:")
    for step in bundle["timeline"]:
        lines.append(f"{step['ordinal']}. [{step['kind']}] {step['system']}: {step['title']}")
        action = step.get("action")
        if action:
            lines.append(
                f"   {action['tool']} {json.dumps(action['arguments'], default=str)[:300]} → {action['status']}"
            )
            if action["result"]:
                lines.append(f"   result: {action['result'][:300]}")
    if bundle["citations"]:
        lines += ["", "Citations:"] + [
            f"- {c['label']}" + (f" ({c['url']})" if c.get("url") else "") for c in bundle["citations"]
        ]
    lines += ["", "The full evidence bundle is attached as JSON."]
    return "\n".join(lines)


def _escalate(investigation: Investigation, agent_settings: AgentSettings) -> None:
    ticket = investigation.ticket
    if agent_settings.escalation_assignee_id:
        tickets.assign(ticket=ticket, assignee_id=agent_settings.escalation_assignee_id, actor=None)
    bundle = evidence_bundle(investigation)
    note = tickets.reply(ticket=ticket, body=bundle_note(bundle), kind=MessageKind.INTERNAL_NOTE, author=GABY)
    content = json.dumps(bundle, indent=2, default=str).encode()
    attachment = Attachment(
        message=note,
        filename=f"evidence-{investigation.pk}.json",
        content_type="application/json",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    attachment.file.save(attachment.filename, ContentFile(content), save=False)
    attachment.save()
    investigation_id = investigation.pk
    transaction.on_commit(lambda: _notify_later(investigation_id))


def _notify_later(investigation_id: Any) -> None:
    enqueue("agent.notify_escalation", str(investigation_id), task_id=f"escalation-mail-{investigation_id}")
