"""The one enforcement point (SAF-1..6): every tool call of every path — investigation loop, playbook,
chat, one-click button, API — is made with ``run_tool``, which decides before anything is sent.

``run_tool`` turns the call into a ``policy.Action`` (connector scope and autonomy, the tool's
classification, the client's autonomy and approval threshold, the ticket source's autonomy), asks
``policy.decide`` with the client's allow/deny rules, records a ``ToolAction`` and an audit event in
the same transaction, and then:

* **deny** — nothing is sent;
* **allow** — the call is executed now through the connectors' executor;
* **dry run** — the tool runs with ``dry_run: true`` if it supports it, otherwise the exact call that
  would be made is shown; nothing changes either way;
* **needs approval** — the action waits in the approval queue; ``approve`` queues it for a worker that
  claims it with a conditional UPDATE, so it runs exactly once however often the task is retried.

Callers pass an ``idempotency_key`` (e.g. the investigation step): calling again with the same key returns
the recorded action instead of acting twice. Only this module may call the connectors' executor
(tests/test_architecture.py checks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.access import membership_for
from apps.accounts.models import Role, User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.connectors import services as connectors
from apps.connectors.models import Connector, ConnectorTool
from apps.core.tasks import enqueue
from apps.safety.classification import classify
from apps.safety.client_settings import admin_approval_risk, approval_ttl
from apps.safety.live import announce_queue_change
from apps.safety.models import ActionStatus, DecidedVia, SafetyRule, ToolAction
from apps.safety.policy import Action, ArgumentPredicate, Autonomy, Decision, Outcome, Rule, Scope, decide
from apps.safety.requester import AccountBook, Subject
from apps.safety.tool_secrets import keep_apart, seal_secrets
from tenants.models import Client

if TYPE_CHECKING:
    from apps.tickets.models import TicketSource

log = structlog.get_logger(__name__)
INVERSE_KEY = "gaby_inverse"
IDEMPOTENCY_ARGUMENT = "idempotency_key"


class ActionError(Exception):
    """An approval or undo that cannot happen; the message says why."""


@dataclass(frozen=True)
class CallContext:
    """Who asks, on whose behalf, and for which ticket source (its autonomy limits the call, SAF-1)."""

    idempotency_key: str
    actor: User | None = None  # None: Gaby itself (investigation, playbook)
    purpose: str = ""
    source: TicketSource | None = None  # the source of the ticket the call serves
    source_autonomy: str | None = None  # an explicit limit from a caller without a source row (a chat session)
    dry_run: bool = False
    # Whose call it is (apps/safety/requester.py): the book holds the verified requester and what this run learned
    # about whose records its results hold; None (an operator's own click) checks nothing.
    accounts: AccountBook | None = None
    suspicion: str = ""  # the ticket's suspicion flags: no write runs without a human
    human_asked: str = ""  # the caller's reason it must not run without a human (a proposed playbook step)

    def subject(self, arguments: dict[str, Any]) -> Subject:
        return self.accounts.subject(arguments) if self.accounts is not None else Subject("unknown")

    def source_limit(self) -> Autonomy | None:
        """The most restrictive of the source's autonomy and the explicit one; None when neither limits."""
        levels = [Autonomy(value) for value in (getattr(self.source, "autonomy", ""), self.source_autonomy) if value]
        return min(levels, key=lambda level: level.rank) if levels else None


def _client() -> Client:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Client) or tenant.is_public:
        raise RuntimeError("Tool calls run inside a client's schema.")
    return tenant


def client_rules() -> list[Rule]:
    """The current client's allow/deny rules in the policy's terms."""
    rules = []
    for row in SafetyRule.objects.all():
        predicates = tuple(ArgumentPredicate(p["argument"], p["op"], p["value"]) for p in row.predicates)
        rules.append(
            Rule(
                row.effect, row.tool_pattern, str(row.connector_id) if row.connector_id else None, predicates, row.label
            )
        )
    return rules


def build_action(
    client: Client,
    connector: Connector,
    tool: ConnectorTool | None,
    tool_name: str,
    arguments: dict[str, Any],
    context: CallContext,
    subject: Subject | None = None,
) -> Action:
    scope = (tool.scope if tool is not None and tool.scope else connector.scope) or Scope.READ_ONLY
    requester = context.accounts.requester if context.accounts is not None else None
    return Action(
        connector_id=str(connector.pk),
        connector_name=connector.name,
        tool_name=tool_name,
        tool_class=classify(connector, tool).tool_class,
        arguments=arguments,
        scope=Scope(scope),
        production=connector.is_production,
        destructive=bool(tool and tool.destructive_hint),
        approval_required=bool(tool and tool.approval_required),
        client_autonomy=Autonomy.from_client_setting(client.autonomy),
        connector_autonomy=Autonomy(connector.autonomy),
        source_autonomy=context.source_limit(),
        approval_threshold=client.approval_threshold,
        dry_run_requested=context.dry_run,
        on_behalf_of_other=subject.describe() if subject is not None and subject.third_party else "",
        requester_authorized_for_others=bool(requester and requester.authorized_for_others),
        suspicion=context.suspicion,
        human_asked=context.human_asked,
    )


def run_tool(
    *,
    connector: Connector,
    tool_name: str,
    arguments: dict[str, Any],
    context: CallContext,
    tool: ConnectorTool | None = None,
) -> ToolAction:
    """Decide, record, and act on the decision. Returns the ``ToolAction`` (read its ``status``).

    ``tool`` is the tool's row when the caller has already loaded it (else it is read here)."""
    existing = ToolAction.objects.filter(idempotency_key=context.idempotency_key).first()
    if existing is not None:
        _learn(context, existing)
        return existing  # a retried caller: never decide or act twice
    client = _client()
    if tool is None or tool.name != tool_name or tool.connector_id != connector.pk:
        tool = ConnectorTool.objects.filter(connector=connector, name=tool_name).first()
    subject = context.subject(arguments)
    action_facts = build_action(client, connector, tool, tool_name, arguments, context, subject)
    decision = decide(action_facts, client_rules())
    status = {
        Outcome.DENY: ActionStatus.DENIED,
        Outcome.NEEDS_APPROVAL: ActionStatus.AWAITING_APPROVAL,
        Outcome.ALLOW: ActionStatus.RUNNING,
        Outcome.DRY_RUN: ActionStatus.RUNNING,
    }[decision.outcome]
    action = ToolAction(
        idempotency_key=context.idempotency_key,
        connector=connector,
        tool_name=tool_name,
        arguments=arguments,
        access=str(action_facts.tool_class),
        actor_kind=ActorKind.USER if context.actor else ActorKind.AGENT,
        actor_id=str(context.actor.pk) if context.actor else "",
        purpose=context.purpose,
        outcome=decision.outcome,
        reason=decision.reason,
        risk=decision.risk,
        status=status,
        expires_at=timezone.now() + approval_ttl() if status == ActionStatus.AWAITING_APPROVAL else None,
    )
    with transaction.atomic():  # the action and its audit event are stored together, before anything is sent
        action.save()
        _audit_decision(action, decision, subject=subject, context=context)
        if status == ActionStatus.AWAITING_APPROVAL:
            transaction.on_commit(lambda: _announce(action))
            transaction.on_commit(lambda: _notify(action))
    if decision.outcome is Outcome.ALLOW:
        _execute(action, dry_run=False, tool=tool)
    elif decision.outcome is Outcome.DRY_RUN:
        _execute(action, dry_run=True, tool=tool)
    _learn(context, action)
    return action  # as stored: created above, and its result set by _finish (no read back)


def _learn(context: CallContext, action: ToolAction) -> None:
    """Teach the run's account book whose records this result holds (only results that really came back)."""
    if (
        context.accounts is None
        or action.status not in {ActionStatus.DONE, ActionStatus.DRY_RUN}
        or not action.result_text
    ):
        return
    try:
        data = json.loads(action.result_text)
    except ValueError:
        return  # a text result names no owner the book could trust
    context.accounts.learn(data)


def _audit_decision(
    action: ToolAction, decision: Decision, *, subject: Subject | None = None, context: CallContext | None = None
) -> None:
    payload = {
        "action": str(action.pk),
        "connector": action.connector.name,
        "tool": action.tool_name,
        "arguments": action.arguments,
        "reason": decision.reason,
        "risk": decision.risk,
        "autonomy": str(decision.autonomy),
        "purpose": action.purpose,
    }
    if context is not None and context.accounts is not None:
        requester = context.accounts.requester
        payload["requester"] = requester.email
        payload["subject"] = subject.kind if subject is not None else "unknown"
        if subject is not None and subject.third_party:
            payload["on_behalf_of_other"] = subject.describe()
            payload["authorized_contact"] = requester.authorized_for_others
    if context is not None and context.suspicion:
        payload["suspicion"] = context.suspicion
    audit.record(
        event=f"tool.{decision.outcome}", actor_kind=action.actor_kind, actor_id=action.actor_id, payload=payload
    )


def _takes(tool: ConnectorTool | None, argument: str, json_type: str) -> bool:
    """Whether the tool's schema declares ``argument`` with this JSON type (a connector convention)."""
    properties = ((tool.input_schema if tool else None) or {}).get("properties", {})
    return isinstance(properties, dict) and properties.get(argument, {}).get("type") == json_type


def _supports_dry_run(tool: ConnectorTool | None) -> bool:
    """Whether the tool takes a boolean ``dry_run`` argument (the convention for a connector's own dry run)."""
    return _takes(tool, "dry_run", "boolean")


def _execute(action: ToolAction, *, dry_run: bool, tool: ConnectorTool | None = None) -> None:
    """Send the call (or its dry run) and record what came back. The caller has claimed the action.

    ``tool`` is the row ``run_tool`` already loaded; an approved action, run later, loads it here once.
    """
    if tool is None:
        tool = ConnectorTool.objects.filter(connector=action.connector, name=action.tool_name).first()
    arguments = dict(action.arguments)
    if _takes(tool, IDEMPOTENCY_ARGUMENT, "string"):
        # The convention for writes to outside systems (Stripe's Idempotency-Key): the action's own key, so a
        # retried action is executed by the vendor at most once.
        arguments[IDEMPOTENCY_ARGUMENT] = action.idempotency_key
    if _supports_dry_run(tool):
        # Set both ways: an allowed or approved call must not be hidden by the tool's own safe default.
        arguments["dry_run"] = dry_run
    elif dry_run:
        preview = f"Dry run: {action.connector.name} has no dry run for {action.tool_name}; this call would be sent:\n"
        _finish(action, ActionStatus.DRY_RUN, preview + str(arguments), is_error=False, inverse=None)
        return
    try:
        result = connectors.execute_tool_call(
            connector=action.connector, tool_name=action.tool_name, arguments=arguments, actor=None, tool=tool
        )
    except (connectors.ToolCallRefused, connectors.ConnectorError) as exc:
        _finish(action, ActionStatus.FAILED, str(exc), is_error=True, inverse=None)
        return
    inverse = result.structured.get(INVERSE_KEY) if isinstance(result.structured, dict) else None
    status = ActionStatus.DRY_RUN if dry_run else (ActionStatus.FAILED if result.is_error else ActionStatus.DONE)
    # Secrets the tool returned (a temporary password) never reach the stored text, so nothing that reads it can
    # show them (apps/safety/tool_secrets.py); they are sealed for the client, for the approver's one look.
    kept = keep_apart(result.text, result.structured)
    sealed = seal_secrets(_client(), action, kept.secrets)
    inverse = None if dry_run else inverse
    _finish(action, status, kept.text, is_error=result.is_error, inverse=inverse, sealed=sealed)


def _finish(action: ToolAction, status: str, text: str, *, is_error: bool, inverse: Any, sealed: str = "") -> None:
    """Store the result, on the row and on ``action`` (the caller's copy stays what the database holds)."""
    result = {
        "status": status,
        "result_text": text[:20000],
        "result_is_error": is_error,
        "inverse": inverse,
        "executed_at": timezone.now(),
        "sealed_secrets": sealed,
    }
    for name, value in result.items():
        setattr(action, name, value)
    event = "tool.executed" if status != ActionStatus.DRY_RUN else "tool.dry_run_shown"
    payload = {"action": str(action.pk), "tool": action.tool_name, "status": status, "is_error": is_error}
    with transaction.atomic():  # the result and its audit event, together
        action.save(update_fields=list(result))
        audit.record(event=event, actor_kind=ActorKind.AGENT, payload=payload | {"result": text[:2000]})


def _announce(action: ToolAction) -> None:
    """Tell the client's open pages that the approval queue changed (apps/safety/views.py renders it)."""
    announce_queue_change(action)


def _notify(action: ToolAction) -> None:
    """Ask the approvers by email, Slack and Teams too (apps/safety/notify), on a worker."""
    enqueue("safety.notify_approvers", str(action.pk))


def approve(*, action: ToolAction, actor: User, note: str = "", via: str = DecidedVia.WEB) -> ToolAction:
    """Approve a waiting action and queue it; it runs once, on a worker. Every approval path (the web queue,
    an emailed link, a Slack button, a Teams card's link) ends here; ``via`` names the path."""
    _check_approver(action, actor)
    with transaction.atomic():
        claimed = ToolAction.objects.filter(
            pk=action.pk, status=ActionStatus.AWAITING_APPROVAL, expires_at__gt=timezone.now()
        ).update(status=ActionStatus.APPROVED, decided_by=str(actor.pk), decision_note=note, decided_via=via)
        if not claimed:
            action.refresh_from_db()
            raise ActionError(f"This action is {action.get_status_display().lower()}: it can no longer be approved.")
        audit.record(
            event="approval.approved",
            actor_kind=ActorKind.USER,
            actor_id=actor.pk,
            payload={"action": str(action.pk), "tool": action.tool_name, "note": note, "via": via},
        )
        transaction.on_commit(lambda: enqueue("safety.execute_approved", str(action.pk)))
        transaction.on_commit(lambda: _announce(action))
    action.refresh_from_db()
    return action


def _check_approver(action: ToolAction, actor: User) -> None:
    """Risky actions need an Admin of this client, whichever path the approval came by (web, link, Slack, Teams)."""

    required = admin_approval_risk()
    if action.risk < required:
        return
    membership = membership_for(actor, _client())
    if membership is None or membership.role != Role.ADMIN:
        raise ActionError(f"Risk {action.risk} is at or above {required}: only an Admin of this client may approve it.")


def reject(*, action: ToolAction, actor: User, note: str, via: str = DecidedVia.WEB) -> ToolAction:
    if not note.strip():
        raise ActionError("Say why you reject it: the reason is kept with the action.")
    with transaction.atomic():
        claimed = ToolAction.objects.filter(pk=action.pk, status=ActionStatus.AWAITING_APPROVAL).update(
            status=ActionStatus.REJECTED, decided_by=str(actor.pk), decision_note=note, decided_via=via
        )
        if not claimed:
            action.refresh_from_db()
            raise ActionError(f"This action is {action.get_status_display().lower()}: it can no longer be rejected.")
        audit.record(
            event="approval.rejected",
            actor_kind=ActorKind.USER,
            actor_id=actor.pk,
            payload={"action": str(action.pk), "tool": action.tool_name, "note": note, "via": via},
        )
        transaction.on_commit(lambda: _announce(action))
    action.refresh_from_db()
    return action


def run_approved(action_id: str) -> bool:
    """Execute an approved action if and only if this caller claims it (APPROVED → RUNNING)."""
    if not ToolAction.objects.filter(pk=action_id, status=ActionStatus.APPROVED).update(status=ActionStatus.RUNNING):
        return False  # already run, or no longer approved: a retried task does nothing
    _execute(ToolAction.objects.select_related("connector").get(pk=action_id), dry_run=False)
    return True


def expire_waiting() -> int:
    """Approvals nobody decided in time expire (beat task); they never run."""
    expired = list(ToolAction.objects.filter(status=ActionStatus.AWAITING_APPROVAL, expires_at__lte=timezone.now()))
    for action in expired:
        with transaction.atomic():
            if ToolAction.objects.filter(pk=action.pk, status=ActionStatus.AWAITING_APPROVAL).update(
                status=ActionStatus.EXPIRED
            ):
                audit.record(event="approval.expired", payload={"action": str(action.pk), "tool": action.tool_name})
    return len(expired)


def undo(*, action: ToolAction, actor: User) -> ToolAction:
    """SAF-6: run the inverse the connector declared, through the same enforcement as any call."""
    if action.status != ActionStatus.DONE or not action.inverse:
        raise ActionError("Only a completed action whose connector declared how to undo it can be rolled back.")
    inverse = action.inverse
    if not isinstance(inverse, dict) or "tool" not in inverse:
        raise ActionError("The recorded inverse is malformed; undo it by hand.")
    undo_action = run_tool(
        connector=action.connector,
        tool_name=str(inverse["tool"]),
        arguments=dict(inverse.get("arguments") or {}),
        context=CallContext(idempotency_key=f"undo:{action.pk}", actor=actor, purpose=f"Undo {action.tool_name}"),
    )
    ToolAction.objects.filter(pk=undo_action.pk).update(rollback_of=action)
    if undo_action.status == ActionStatus.DONE:
        ToolAction.objects.filter(pk=action.pk).update(status=ActionStatus.ROLLED_BACK)
    undo_action.refresh_from_db()
    return undo_action
