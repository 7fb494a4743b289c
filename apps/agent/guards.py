"""The checks around every decider: read the ticket first, and check the reply last.

``assess_ticket`` runs before any playbook, model or knowledge answer: it reads who is asking (the channel's
identity), what kind of ticket it is, its language, whether it is about someone else's account and whether
anything about it is suspicious (apps/agent/triage.py, apps/safety/suspicion.py). It is a timeline step, the
investigation keeps it (``assessment``), and the run's tool calls carry its suspicion to the safety gate.

``guard_reply`` runs after the decider and before the conclusion is stored: a reply that holds data of an account
other than the requester's (learned from this run's own tool results, apps/safety/requester.py) is never sent
nor drafted; the investigation escalates instead, and the audit log records the blocked disclosure.
"""

from __future__ import annotations

import dataclasses

from apps.agent.context import RunContext
from apps.agent.contracts import Finding, StepKind, Verdict
from apps.agent.triage import Assessment, TicketKind, assess
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.safety.identity import flags_for
from apps.safety.requester import disclosures

SYSTEM = "gaby"


def assess_ticket(context: RunContext) -> Assessment:
    requester = context.accounts.requester
    reading = context.reading
    # What the ticket's HTML hid from its reader is read here only: not the ticket's words (context.ticket).
    flags = flags_for(requester, text=context.ticket.full_text, hidden=context.hidden)
    assessment = assess(title=context.ticket.title, read=reading, requester=requester, flags=flags)
    context.suspicion = assessment.suspicion
    context.ticket = dataclasses.replace(context.ticket, acts_for=assessment.acts_for)
    context.assessment = assessment
    context.record(
        StepKind.READ,
        system=SYSTEM,
        title=f"Read the ticket: {assessment.kind.value.replace('_', ' ')}"
        + (" — on behalf of another person" if assessment.on_behalf_of_other else "")
        + (" — flagged" if assessment.flags else ""),
        detail=assessment.describe(),
        data=assessment.as_dict(),
    )
    return assessment


def suspicious_finding(assessment: Assessment) -> Finding:
    reason = f"Flagged as suspicious, so Gaby does not act or answer on its own: {assessment.suspicion}."
    return Finding(
        verdict=Verdict.NEEDS_L2,
        summary=f"{reason} Requester: {assessment.requester.email or 'unknown'}.",
        escalation_reason=reason,
        decided_by="triage",
    )


def flagged(finding: Finding, assessment: Assessment) -> Finding:
    """What a model concluded on a flagged ticket, as an escalation: its findings are evidence for a person, and its
    reply is not sent (a manipulated ticket may have steered it)."""
    reason = f"Flagged as suspicious ({assessment.suspicion}): a person reviews what the investigation found." + (
        f" {finding.escalation_reason}" if finding.escalation_reason else ""
    )
    return Finding(
        verdict=Verdict.NEEDS_L2,
        summary=f"{reason}\n\n{finding.summary}",
        citations=finding.citations,
        confidence=finding.confidence,
        escalation_reason=reason,
        is_infra=finding.is_infra,
        infra_evidence=finding.infra_evidence,
        decided_by=finding.decided_by,
    )


def kind_finding(assessment: Assessment) -> Finding:
    """A ticket no playbook took and that is not a question: a person takes it, with the reason."""
    kind = assessment.kind.value.replace("_", " ")
    asks = assessment.kind in {TicketKind.ACTION_REQUEST, TicketKind.QUESTION}
    if assessment.on_behalf_of_other and assessment.requester.authorized_for_others and asks:
        reason = (
            f"A request for another person ({assessment.on_behalf_of_other}) from an authorized contact that no "
            "playbook covers"
            + ("" if assessment.acts_for else ", or that names nobody's address")
            + ": a person takes it."
        )
    elif assessment.on_behalf_of_other and asks:
        reason = (
            f"About another person's account ({assessment.on_behalf_of_other}): Gaby acts and answers only "
            "for the requester, so a person decides."
        )
    elif assessment.kind is TicketKind.ACTION_REQUEST:
        reason = f"A request for an action ({assessment.why!r}) that no playbook covers: a person takes it."
    else:
        reason = (
            f"Not a question but {'an' if kind[0] in 'aeiou' else 'a'} {kind} ({assessment.why!r}): the "
            "knowledge base may answer only questions, so a person takes it."
        )
    return Finding(
        verdict=assessment.escalation_verdict(), summary=reason, escalation_reason=reason, decided_by="triage"
    )


def guard_reply(context: RunContext, finding: Finding) -> Finding:
    found = disclosures(finding.reply, context.accounts, ticket_text=context.ticket.full_text)
    if not found:
        return finding
    leaked = ", ".join(sorted({f"{item.value} ({item.owner})" for item in found}))
    reason = f"The reply was blocked: it holds data of another person than the requester: {leaked}."
    context.record(
        StepKind.VERIFY,
        system=SYSTEM,
        title="Reply blocked: another person's data",
        detail=reason,
        data={
            "disclosures": [dataclasses.asdict(item) for item in found],
            "requester": context.accounts.requester.email,
        },
    )
    audit.record(
        event="reply.disclosure_blocked",
        actor_kind=ActorKind.AGENT,
        payload={
            "investigation": str(context.investigation.pk),
            "requester": context.accounts.requester.email,
            "owners": sorted({item.owner for item in found}),
            "decided_by": finding.decided_by,
        },
    )
    return Finding(
        verdict=Verdict.NEEDS_L2,
        summary=f"{reason}\n\n{finding.summary}",
        citations=finding.citations,
        confidence=finding.confidence,
        escalation_reason=reason,
        decided_by=finding.decided_by,
    )
