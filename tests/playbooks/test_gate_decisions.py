"""A playbook's writes meet the real safety gate: allowed, held for approval, denied, dry run — each ends the
run honestly. The playbook is a client's own (stored through the service), on the ledger MCP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps.agent import playbooks
from apps.agent.contracts import StepKind, Tone, Verdict
from apps.agent.playbooks import services
from apps.safety import enforcement
from apps.safety.models import ActionStatus, RuleEffect, SafetyRule, ToolAction
from apps.safety.tasks import execute_approved
from tenants.models import Client
from tests.playbooks.harness import GateContext, ticket
from tests.safety.conftest import balances

TOPUP = r"""
name: ledger-topup
version: 2
description: Top up a customer's ledger account when its balance is low.
intent:
  - Please top up my account balance
  - My balance is too low, please add credit
  - Can you credit my account
match:
  keywords: [balance, credit, top up]
  require_any: [balance, credit, top up]
entities:
  account:
    pattern: '(?i)\baccount\s+([a-z][a-z0-9_-]+)'
    required: true
steps:
  - id: before
    connector: Ledger
    tool: balance
    args: {account: "{{ entities.account }}"}
    purpose: Read the balance
    branches:
      - when: "result.data.balance >= 1000"
        resolve: enough
  - id: credit
    connector: Ledger
    tool: credit
    args: {account: "{{ entities.account }}", amount: 25}
    purpose: Add 25 credits
  - id: after
    connector: Ledger
    tool: balance
    args: {account: "{{ entities.account }}"}
    purpose: Check the credit landed
    verify: "result.data.balance == steps.before.data.balance + 25"
replies:
  resolved:
    formal: "Dear customer, account {{ entities.account }} now holds {{ steps.after.data.balance }} credits."
    friendly: "Done! {{ entities.account }} has {{ steps.after.data.balance }} credits now."
    technical: >-
      credit({{ entities.account }}, 25): {{ steps.before.data.balance }} -> {{ steps.after.data.balance }}
      {{ cite('credit') }}
  enough:
    default: "Account {{ entities.account }} already holds {{ steps.before.data.balance }} credits."
summary: "Credited {{ entities.account }}."
"""
TOPUP_TICKET = "Please top up my account acme, the balance is too low"


def _settings(client: Client, **fields: Any) -> None:
    Client.objects.filter(pk=client.pk).update(**fields)
    client.refresh_from_db()


def _run(text: str = TOPUP_TICKET, yaml_text: str = TOPUP, tone: Tone = Tone.FRIENDLY) -> tuple[Any, GateContext]:
    services.save_playbook(yaml_text=yaml_text, actor=None)
    context = GateContext(ticket(text), tone=tone)
    return playbooks.decide(context), context


def test_act_mode_runs_the_write_verifies_it_and_cites_every_result(
    ledger: Any, ledger_file: Path, in_hartwell: Client
) -> None:
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, context = _run(tone=Tone.TECHNICAL)
    assert finding.verdict == Verdict.AUTO_RESOLVED and finding.decided_by == "playbook:ledger-topup"
    assert finding.reply == "credit(acme, 25): 100 -> 125 [2]"
    assert balances(ledger_file) == {"acme": 125}
    actions = list(ToolAction.objects.order_by("created_at"))
    assert [a.tool_name for a in actions] == ["balance", "credit", "balance"]
    assert [c.ref for c in finding.citations] == [str(a.pk) for a in actions]
    assert [s.kind for s in context.timeline if s.kind == StepKind.VERIFY] == [StepKind.VERIFY]
    assert "Credited acme." in finding.summary and "credit: Ledger.credit → done" in finding.summary


def test_a_branch_resolves_early_without_writing(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    ledger_file.write_text('{"acme": 5000}')
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, _ = _run()
    assert finding.verdict == Verdict.AUTO_RESOLVED and finding.reply == "Account acme already holds 5000 credits."
    assert list(ToolAction.objects.values_list("tool_name", flat=True)) == ["balance"]


def test_a_held_write_escalates_and_says_it_awaits_approval_then_runs_once(
    ledger: Any, ledger_file: Path, in_hartwell: Client, people: dict[str, Any]
) -> None:
    ledger()
    _settings(in_hartwell, autonomy="review")
    finding, _ = _run()
    assert finding.verdict == Verdict.NEEDS_L2
    assert finding.escalation_reason == "Ledger.credit awaits approval: Propose mode: a human applies this change."
    assert "waiting for a quick approval" in finding.reply
    assert balances(ledger_file) == {"acme": 100}
    held = ToolAction.objects.get(status=ActionStatus.AWAITING_APPROVAL)
    enforcement.approve(action=held, actor=people["bob"])
    assert execute_approved.apply(args=[str(held.pk)]).get() is True
    assert execute_approved.apply(args=[str(held.pk)]).get() is False
    assert balances(ledger_file) == {"acme": 125}


def test_a_denied_write_escalates_to_l2_with_the_gates_reason(
    ledger: Any, ledger_file: Path, in_hartwell: Client
) -> None:
    ledger()  # the client stays in investigate mode: writes are refused
    finding, _ = _run(tone=Tone.FORMAL)
    assert finding.verdict == Verdict.NEEDS_L2
    assert "refused by the safety policy: Investigate mode" in finding.escalation_reason
    assert finding.reply.startswith("Thank you for your message.") and balances(ledger_file) == {"acme": 100}


def test_a_deny_rule_is_named_in_the_escalation(ledger: Any, in_hartwell: Client) -> None:
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    SafetyRule.objects.create(effect=RuleEffect.DENY, tool_pattern="credit", label="no credits by playbook")
    finding, _ = _run()
    assert finding.verdict == Verdict.NEEDS_L2 and "Denied by rule: no credits by playbook" in finding.escalation_reason


def test_a_dry_run_scope_is_not_a_fix(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    ledger(scope="dry_run")
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, _ = _run()
    assert finding.verdict == Verdict.NEEDS_L2 and "ran only as a dry run" in finding.escalation_reason
    assert balances(ledger_file) == {"acme": 100}


def test_a_check_that_does_not_hold_escalates(ledger: Any, in_hartwell: Client) -> None:
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, context = _run(yaml_text=TOPUP.replace("balance + 25", "balance + 30"))
    assert (
        finding.verdict == Verdict.NEEDS_L2 and "Verification at step after did not hold" in finding.escalation_reason
    )
    assert any(step.title == "balance: the check did not hold" for step in context.timeline)


def test_a_missing_entity_asks_the_customer(ledger: Any, in_hartwell: Client) -> None:
    ledger()
    finding, _ = _run(text="Please top up my balance")
    assert finding.verdict == Verdict.NEEDS_CLIENT and "send us your account" in finding.reply
    assert not ToolAction.objects.exists()


def test_a_tool_error_escalates_with_the_tools_message(ledger: Any, in_hartwell: Client) -> None:
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, _ = _run(yaml_text=TOPUP.replace("amount: 25}", 'amount: "lots"}'))
    assert finding.verdict == Verdict.NEEDS_L2 and finding.escalation_reason.startswith("Ledger.credit failed:")


PROPOSING = TOPUP.replace("    tool: credit\n", "    tool: credit\n    propose: true\n")


def test_a_proposed_step_waits_for_approval_even_in_act_mode_then_runs_once(
    ledger: Any, ledger_file: Path, in_hartwell: Client, people: dict[str, Any]
) -> None:
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, context = _run(yaml_text=PROPOSING)
    assert finding.verdict == Verdict.NEEDS_L2 and "always needs a human" in finding.escalation_reason
    assert balances(ledger_file) == {"acme": 100}  # nothing ran unasked
    held = ToolAction.objects.get(tool_name="credit")
    assert held.status == ActionStatus.AWAITING_APPROVAL and held.arguments["amount"] == 25
    assert held.reason == "Playbook ledger-topup proposes this step: a human decides."
    assert context.timeline[-1].kind == StepKind.ACTION and context.timeline[-1].citations[0].ref == str(held.pk)
    enforcement.approve(action=held, actor=people["bob"])
    assert execute_approved.apply(args=[str(held.pk)]).get() is True
    assert balances(ledger_file) == {"acme": 125}


def test_a_proposal_the_gate_cannot_hold_says_why(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    ledger(scope="read_only")
    _settings(in_hartwell, autonomy="review")
    finding, _ = _run(yaml_text=PROPOSING)
    assert finding.verdict == Verdict.NEEDS_L2
    assert "is read-only: credit would write. To allow it, change the connector's scope" in finding.escalation_reason
    assert ToolAction.objects.get(tool_name="credit").status == ActionStatus.DENIED


def test_a_branch_escalation_without_its_own_reply_uses_its_reason(
    ledger: Any, ledger_file: Path, in_hartwell: Client
) -> None:
    ledger_file.write_text('{"acme": 5000}')
    ledger()
    escalating = TOPUP.replace("resolve: enough", "escalate: rich") + (
        "escalations:\n  rich:\n    verdict: needs_tech\n    reason: 'acme holds {{ steps.before.data.balance }}'\n"
    )
    finding, _ = _run(yaml_text=escalating, tone=Tone.TECHNICAL)
    assert finding.verdict == Verdict.NEEDS_TECH and finding.escalation_reason == "acme holds 5000"
    assert finding.reply == "Automated handling stopped at step 'before': acme holds 5000. An engineer will follow up."


PREVIEWING = PROPOSING.replace(
    "  - id: credit\n",
    "  - id: preview\n    connector: Ledger\n    tool: credit\n    preview: true\n"
    '    args: {account: "{{ entities.account }}", amount: 25, dry_run: false}\n    purpose: Show the change\n'
    '    branches:\n      - when: "result.data.would_be > 1000"\n        escalate: too_rich\n  - id: credit\n',
).replace(
    'summary: "Credited {{ entities.account }}."',
    'summary: "Credited {{ entities.account }}."\nescalations:\n  approval:\n    verdict: needs_l2\n'
    '    reason: "{{ entities.account }} would hold {{ steps.preview.data.would_be }}"\n'
    '  too_rich:\n    verdict: needs_l2\n    reason: "too rich"\n',
)


def test_a_preview_step_is_always_a_dry_run_and_the_run_goes_on(
    ledger: Any, ledger_file: Path, in_hartwell: Client
) -> None:
    # Act mode, threshold 100: the same write without ``preview`` would run at once (the first test above).
    ledger()
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, _ = _run(yaml_text=PREVIEWING)
    preview = ToolAction.objects.get(tool_name="credit", status=ActionStatus.DRY_RUN)
    assert preview.reason == "A dry run was asked for." and balances(ledger_file) == {"acme": 100}
    assert ToolAction.objects.get(tool_name="credit", status=ActionStatus.AWAITING_APPROVAL).arguments["amount"] == 25
    assert finding.verdict == Verdict.NEEDS_L2 and finding.escalation_reason == "acme would hold 125"


def test_a_preview_step_the_gate_refuses_stops_the_run(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    ledger(scope="read_only")
    _settings(in_hartwell, autonomy="auto", approval_threshold=100)
    finding, _ = _run(yaml_text=PREVIEWING)
    assert finding.verdict == Verdict.NEEDS_L2 and "is read-only" in finding.escalation_reason
    assert list(ToolAction.objects.filter(tool_name="credit").values_list("status", flat=True)) == ["denied"]
