"""Running one playbook against one ticket: entities, steps through the context's safety gate, then a Finding.

Steps run in order; a step's ``when`` may skip it, its ``branches`` may jump forward, escalate or resolve
with a named reply, and a ``verify`` expression checks that an action took effect. What the gate decided is
never glossed over: a denied call, a write held for approval, a dry run, a tool error or a failed check each
ends the run with its escalation (apps/agent/playbooks/escalations.py), with the gate's reason.
"""

from __future__ import annotations

from typing import Any

from apps.agent.contracts import Citation, Finding, InvestigationContext, StepKind, ToolOutcome, Verdict
from apps.agent.playbooks import templating
from apps.agent.playbooks.entities import extract
from apps.agent.playbooks.escalations import BUILTIN, COLLEAGUE_UNKNOWN
from apps.agent.playbooks.matching import Match
from apps.agent.playbooks.schema import Escalation, Playbook, Step
from apps.safety.identity import is_authorized_contact

SYSTEM = "playbooks"
# Why a run stopped, for the operator reading its summary (the escalation's name stays in the step data).
ESCALATION_WORDS = {
    "missing_entity": "the ticket lacks something the playbook needs",
    "denied": "the safety gate refused a step",
    "held": "a step waits for approval",
    "dry_run": "a step only ran as a dry run",
    "tool_error": "a step failed",
    "verify_failed": "a check after a step did not hold",
    "approval": "a step is proposed for a human to apply",
    "colleague_unknown": "no account for the colleague named",
}

NOT_RUN = {
    "denied": "denied",
    "rejected": "denied",
    "expired": "denied",
    "awaiting_approval": "held",
    "approved": "held",
    "dry_run": "dry_run",
}


class _Stop(Exception):
    """Ends the run with an escalation."""

    def __init__(self, escalation: str, *, step: Step | None = None, reason: str = "", **extra: Any) -> None:
        super().__init__(reason)
        self.escalation, self.step, self.reason, self.extra = escalation, step, reason, extra


class PlaybookRun:
    def __init__(self, playbook: Playbook, match: Match, context: InvestigationContext) -> None:
        self.playbook, self.match, self.context = playbook, match, context
        self.entities: dict[str, Any] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.citations: list[Citation] = []
        self.trail: list[str] = []  # one line per step for the internal summary
        # Who asks, as the channel identified them, and whether an Admin lets them request for colleagues
        # (Safety > Authorized contacts): a playbook that changes someone's access checks it (m365-group-access).
        email = context.ticket.contact_email
        self.requester = {"email": email, "authorized_contact": is_authorized_contact(email)}

    @property
    def decided_by(self) -> str:
        return f"playbook:{self.playbook.name}"

    def scope(self, **extra: Any) -> dict[str, Any]:
        ticket = self.context.ticket
        return {
            "ticket": {
                "id": ticket.id,
                "title": ticket.title,
                "body": ticket.body,
                "source_kind": ticket.source_kind,
                "priority": ticket.priority,
                "tags": list(ticket.tags),
                "contact_email": ticket.contact_email,
                "contact_name": ticket.contact_name,
                "attributes": dict(ticket.attributes),
            },
            "entities": self.entities,
            "requester": self.requester,
            "steps": self.steps,
            "tone": str(self.context.tone),
            "cite": self._cite,
            **extra,
        }

    def _cite(self, step_id: str) -> str:
        """``{{ cite('user') }}`` in a reply → ``[1]``, the number of that step's tool result in the citations."""
        ref = (self.steps.get(step_id) or {}).get("action_id")
        for index, citation in enumerate(self.citations, start=1):
            if citation.ref == ref:
                return f"[{index}]"
        return ""

    def run(self) -> Finding:
        try:
            self._start()
            reply_name = self._steps()
        except _Stop as stop:
            return self._escalate(stop)
        return self._resolve(reply_name)

    def _start(self) -> None:
        values, missing, origin = extract(self.playbook.entities, self.context.ticket)
        self.entities.update(values)
        self.context.record(
            StepKind.READ,
            system=SYSTEM,
            title=f"Playbook {self.playbook.name} matched ({self.match.score:.2f})",
            detail="; ".join(self.match.reasons),
            data={
                "playbook": self.playbook.name,
                "version": self.playbook.version,
                "score": self.match.score,
                "entities": values,
                "entity_sources": origin,
                "missing": missing,
            },
        )
        if missing:
            raise _Stop("missing_entity", reason=f"missing {', '.join(missing)}", missing=missing)

    def _steps(self) -> str:
        steps = self.playbook.steps
        index = 0
        while index < len(steps):
            step = steps[index]
            if step.when and not self._holds(step.when, step):
                self.trail.append(f"{step.id}: skipped")
                index += 1
                continue
            arguments = self._arguments(step)
            outcome = self.context.call_tool(
                step.connector,
                step.tool,
                arguments,
                purpose=f"Playbook {self.playbook.name}: {step.purpose}",
                human_asked=f"Playbook {self.playbook.name} proposes this step" if step.propose else "",
                dry_run=step.preview,
            )
            if step.propose:
                # The gate holds a proposal for approval (it shows in Approvals, linked from the investigation),
                # or refuses it with the reason; it never runs it unasked.
                self._store(step, outcome)
                held = outcome.status == "awaiting_approval"
                raise _Stop(
                    "approval" if held else NOT_RUN.get(outcome.status, "tool_error"),
                    step=step,
                    reason=outcome.text,
                    arguments=arguments,
                )
            self._store(step, outcome)
            # A preview is a dry run by design: only a refusal (or a write that ran after all) stops it.
            previewed = step.preview and outcome.status == "dry_run"
            if outcome.status in NOT_RUN and not previewed:
                raise _Stop(NOT_RUN[outcome.status], step=step, reason=outcome.text)
            verified = self._verify(step) if step.verify else True
            for branch in step.branches:
                if self._holds(branch.when, step):
                    self.trail[-1] += f" → took the branch where {branch.when}"
                    if branch.escalate:
                        raise _Stop(branch.escalate, step=step, reason=branch.when)
                    if branch.resolve:
                        return branch.resolve
                    index = [s.id for s in steps].index(branch.goto)
                    break
            else:
                if outcome.is_error:
                    raise _Stop("tool_error", step=step, reason=outcome.text[:500])
                if not verified:
                    raise _Stop("verify_failed", step=step, reason=f"{step.verify} is false")
                index += 1
        return "resolved"

    def _arguments(self, step: Step) -> dict[str, Any]:
        try:
            arguments = {key: templating.render_value(value, self.scope()) for key, value in step.args.items()}
        except templating.TemplateProblem as exc:
            raise _Stop("tool_error", step=step, reason=f"argument: {exc}") from None
        empty = [key for key, value in arguments.items() if value is None or value == ""]
        if empty:
            raise _Stop("tool_error", step=step, reason=f"argument(s) {', '.join(empty)} came out empty")
        return arguments

    def _holds(self, expression: str, step: Step) -> bool:
        try:
            return templating.truthy(expression, self.scope(result=self.steps.get(step.id, {})))
        except templating.TemplateProblem as exc:
            raise _Stop("tool_error", step=step, reason=str(exc)) from None

    def _store(self, step: Step, outcome: ToolOutcome) -> None:
        self.steps[step.id] = {
            "status": outcome.status,
            "executed": outcome.executed,
            "is_error": outcome.is_error,
            "text": outcome.text,
            "data": outcome.data,
            "action_id": outcome.action_id,
        }
        self.citations.append(outcome.citation)
        self.trail.append(f"{step.id}: {step.connector}.{step.tool} → {outcome.status}")

    def _verify(self, step: Step) -> bool:
        holds = self._holds(step.verify, step)
        self.context.record(
            StepKind.VERIFY,
            system=step.connector,
            title=f"Verified {step.tool}" if holds else f"{step.tool}: the check did not hold",
            detail=step.verify,
            data={"holds": holds},
            citations=(self.citations[-1],),
        )
        return holds

    def _colleague(self) -> str:
        """The colleague an authorized contact asked for, when the run acts for someone other than the requester."""
        ticket = self.context.ticket
        acts_for = (ticket.acts_for or "").strip().lower()
        return acts_for if acts_for and acts_for != (ticket.contact_email or "").strip().lower() else ""

    def _summary(self, outcome: str) -> str:
        head = f"Playbook {self.playbook.name} v{self.playbook.version} (match {self.match.score:.2f}): {outcome}."
        return "\n".join([head, *(f"- {line}" for line in self.trail)])

    def _confidence(self) -> float:
        return round(self.playbook.confidence * self.match.score, 3)

    def _resolve(self, reply_name: str) -> Finding:
        scope = self.scope()
        try:
            reply = templating.render(self.playbook.replies[reply_name].for_tone(str(self.context.tone)), scope)
            summary = templating.render(self.playbook.summary, scope) if self.playbook.summary else ""
        except templating.TemplateProblem as exc:
            return self._escalate(_Stop("tool_error", reason=f"reply: {exc}"))
        return Finding(
            verdict=Verdict.AUTO_RESOLVED,
            summary=self._summary(summary or f"resolved ({reply_name})"),
            reply=reply,
            citations=list(self.citations),
            confidence=self._confidence(),
            decided_by=self.decided_by,
        )

    def _escalate(self, stop: _Stop) -> Finding:
        escalation: Escalation = self.playbook.escalations.get(stop.escalation) or BUILTIN[stop.escalation]
        step = stop.step
        scope = self.scope(
            reason=stop.reason,
            step=step.id if step else "",
            result=self.steps.get(step.id, {}) if step else {},
            step_call=f"{step.connector}.{step.tool}" if step else "",
            missing=stop.extra.get("missing", []),
            arguments=stop.extra.get("arguments", {}),
        )
        fallback = BUILTIN.get(stop.escalation) or BUILTIN["tool_error"]
        # "No account of the requester's" is about a colleague's address when an authorized contact named one:
        # asking the requester for "the address you sign in with" would be wrong, and an account that does not
        # exist yet (a new starter) is set up by a person.
        colleague = self._colleague() if escalation.unknown_requester else ""
        try:
            reason = templating.render(escalation.reason, scope)
            if stop.escalation not in BUILTIN:  # a branch's own escalation: its reason, not the branch condition
                scope["reason"] = reason
            if colleague:
                escalation = self.playbook.escalations.get(COLLEAGUE_UNKNOWN) or BUILTIN[COLLEAGUE_UNKNOWN]
                scope["colleague"] = colleague
                reason = templating.render(escalation.reason, scope)
            reply_template = escalation.reply or fallback.reply
            reply = templating.render(reply_template.for_tone(str(self.context.tone)), scope) if reply_template else ""
        except templating.TemplateProblem as exc:  # the playbook's own template: fall back to the built-in text
            reason, reply = f"{stop.escalation}: {stop.reason} (and its template failed: {exc})", ""
        said = COLLEAGUE_UNKNOWN if colleague else stop.escalation
        words = ESCALATION_WORDS.get(said, said)
        return Finding(
            verdict=escalation.verdict,
            summary=self._summary(f"Handed to a person ({words}): {reason}"),
            reply=reply,
            citations=list(self.citations),
            confidence=self._confidence(),
            escalation_reason=reason,
            decided_by=self.decided_by,
            unknown_requester=escalation.unknown_requester,
        )
