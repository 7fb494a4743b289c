"""SAF-1..6 through the one enforcement point, against a real MCP server (tests/safety/ledger_server.py)."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.auditlog import audit
from apps.auditlog.models import AuditEvent
from apps.safety import enforcement
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, RuleEffect, SafetyRule, ToolAction
from apps.safety.tasks import execute_approved
from tenants.models import Client
from tests.safety.conftest import balances


def _credit(connector: Any, key: str, account: str = "acme", amount: int = 5, **context: Any) -> ToolAction:
    return run_tool(
        connector=connector,
        tool_name="credit",
        arguments={"account": account, "amount": amount},
        context=CallContext(idempotency_key=key, **context),
    )


def _client_settings(client: Client, **fields: Any) -> None:
    Client.objects.filter(pk=client.pk).update(**fields)
    client.refresh_from_db()


def test_reads_run_even_in_investigate_mode(ledger: Any, in_hartwell: Client) -> None:
    connector = ledger(autonomy="investigate")
    action = run_tool(
        connector=connector,
        tool_name="balance",
        arguments={"account": "acme"},
        context=CallContext(idempotency_key="r1"),
    )
    assert action.status == ActionStatus.DONE and '"balance": 100' in action.result_text
    assert AuditEvent.objects.filter(event="tool.allow", payload__tool="balance").exists()


def test_a_write_in_investigate_mode_is_denied_and_audited(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    action = _credit(ledger(), "w1")  # the client itself is in investigate mode (the default)
    assert action.status == ActionStatus.DENIED and "Investigate mode" in action.reason
    assert balances(ledger_file) == {"acme": 100}
    assert AuditEvent.objects.get(event="tool.deny").payload["tool"] == "credit"


def test_propose_mode_waits_and_an_approved_action_runs_exactly_once(
    ledger: Any, ledger_file: Path, in_hartwell: Client, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _client_settings(in_hartwell, autonomy="review")
    action = _credit(ledger(), "p1", amount=7)
    assert action.status == ActionStatus.AWAITING_APPROVAL and "Propose mode" in action.reason
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enforcement.approve(action=action, actor=people["bob"], note="customer confirmed")
    own = [hook for hook in callbacks if hook.__module__ == "apps.safety.enforcement"]  # (metrics count on commit too)
    assert len(own) == 2  # queue the task, refresh the live queue
    # The worker's task, delivered twice (a retry or a redelivery after a crash): it acts once.
    assert execute_approved.apply(args=[str(action.pk)]).get() is True
    assert execute_approved.apply(args=[str(action.pk)]).get() is False
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE and balances(ledger_file) == {"acme": 107}
    with pytest.raises(enforcement.ActionError, match="can no longer be approved"):
        enforcement.approve(action=action, actor=people["bob"])


def test_dry_run_scope_shows_the_change_and_changes_nothing(
    ledger: Any, ledger_file: Path, in_hartwell: Client
) -> None:
    _client_settings(in_hartwell, autonomy="auto")
    connector = ledger(scope="dry_run")
    action = _credit(connector, "d1", amount=50)
    assert action.status == ActionStatus.DRY_RUN and '"would_be": 150' in action.result_text
    purge = run_tool(
        connector=connector, tool_name="purge", arguments={"account": "acme"}, context=CallContext(idempotency_key="d2")
    )
    assert purge.status == ActionStatus.DRY_RUN and "has no dry run for purge" in purge.result_text
    assert balances(ledger_file) == {"acme": 100}


def test_a_caller_can_ask_for_a_dry_run(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    _client_settings(in_hartwell, autonomy="auto", approval_threshold=100)
    action = _credit(ledger(), "d3", dry_run=True)
    assert action.status == ActionStatus.DRY_RUN and balances(ledger_file) == {"acme": 100}


def test_deny_rules_beat_everything(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    _client_settings(in_hartwell, autonomy="auto", approval_threshold=100)
    SafetyRule.objects.create(effect=RuleEffect.ALLOW, tool_pattern="*")
    SafetyRule.objects.create(
        effect=RuleEffect.DENY,
        tool_pattern="credit",
        label="never credit VIPs",
        predicates=[{"argument": "account", "op": "eq", "value": "vip"}],
    )
    assert _credit(ledger(), "n1", account="vip").reason == "Denied by rule: never credit VIPs."
    assert _credit(ledger(), "n2", account="acme").status == ActionStatus.DONE
    assert balances(ledger_file) == {"acme": 105}


def test_production_writes_need_an_allow_rule_then_approval(ledger: Any, in_hartwell: Client) -> None:
    _client_settings(in_hartwell, autonomy="auto")
    connector = ledger(is_production=True)
    assert "production: writes need an explicit allow rule" in _credit(connector, "x1").reason
    SafetyRule.objects.create(effect=RuleEffect.ALLOW, tool_pattern="credit", connector=connector)
    assert _credit(connector, "x2").status == ActionStatus.AWAITING_APPROVAL


def test_a_retried_caller_never_acts_twice(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    _client_settings(in_hartwell, autonomy="auto", approval_threshold=100)
    connector = ledger()
    first, again = _credit(connector, "same-step"), _credit(connector, "same-step")
    assert first.pk == again.pk and balances(ledger_file) == {"acme": 105}


def test_undo_runs_the_declared_inverse_through_the_same_gate(
    ledger: Any, ledger_file: Path, in_hartwell: Client, people: dict[str, Any]
) -> None:
    _client_settings(in_hartwell, autonomy="auto", approval_threshold=100)
    action = _credit(ledger(), "u1", amount=30)
    assert action.inverse == {"tool": "debit", "arguments": {"account": "acme", "amount": 30}}
    assert balances(ledger_file) == {"acme": 130}
    undone = enforcement.undo(action=action, actor=people["alice"])
    assert undone.status == ActionStatus.DONE and undone.rollback_of_id == action.pk
    action.refresh_from_db()
    assert action.status == ActionStatus.ROLLED_BACK and balances(ledger_file) == {"acme": 100}
    with pytest.raises(enforcement.ActionError, match="Only a completed action"):
        enforcement.undo(action=action, actor=people["alice"])


def test_rejection_needs_a_reason_and_expiry_stops_approval(
    ledger: Any, in_hartwell: Client, people: dict[str, Any]
) -> None:
    _client_settings(in_hartwell, autonomy="review")
    connector = ledger()
    waiting = _credit(connector, "e1")
    with pytest.raises(enforcement.ActionError, match="Say why"):
        enforcement.reject(action=waiting, actor=people["bob"], note=" ")
    assert enforcement.reject(action=waiting, actor=people["bob"], note="wrong account").status == ActionStatus.REJECTED
    stale = _credit(connector, "e2")
    ToolAction.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert enforcement.expire_waiting() == 1
    with pytest.raises(enforcement.ActionError, match="expired"):
        enforcement.approve(action=stale, actor=people["bob"])


def test_every_decision_is_in_the_intact_audit_chain(ledger: Any, in_hartwell: Client) -> None:
    _credit(ledger(), "a1")
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert "tool.deny" in events and audit.verify().ok
