"""Shipped PostgreSQL playbooks, end to end through the real gate and the real connector on a shop database."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent import playbooks
from apps.agent.contracts import StepKind, Tone, Verdict
from apps.safety.models import ActionStatus, ToolAction
from tests.playbooks.harness import GateContext, ticket


def test_order_status_by_order_number(shop: Any) -> None:
    context = GateContext(
        ticket(
            "Where is my order?",
            "Hi, order #1042 still hasn't arrived.",
            contact_email="dana@example.com",
            contact_name="Dana",
        )
    )
    finding = playbooks.decide(context)
    assert finding is not None and finding.decided_by == "playbook:postgres-order-status"
    assert finding.verdict == Verdict.AUTO_RESOLVED
    assert "Order 1042: shipped" in finding.reply and "JD0146000012345" in finding.reply
    # One real read through the gate, cited; the matched-playbook read step comes first on the timeline.
    action = ToolAction.objects.get()
    assert action.status == ActionStatus.DONE and action.arguments["params"] == ["1042"]
    assert [c.ref for c in finding.citations] == [str(action.pk)]
    assert context.timeline[0].kind == StepKind.READ and context.timeline[0].data["entities"]["order_id"] == "1042"
    assert 0 < finding.confidence <= 1


def test_order_status_without_a_number_lists_the_latest_orders_of_the_contact(shop: Any) -> None:
    context = GateContext(ticket("Has my order shipped yet?", contact_email="dana@example.com"), tone=Tone.TECHNICAL)
    finding = playbooks.decide(context)
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED
    assert "orders.id=1043 status=processing" in finding.reply and "orders.id=1042 status=shipped" in finding.reply
    assert "Source: [1]" in finding.reply  # the technical tone cites the tool result
    assert ToolAction.objects.get().arguments["params"] == ["dana@example.com"]


def test_someone_elses_order_is_never_disclosed(shop: Any) -> None:
    context = GateContext(ticket("Where is my order 2001?", contact_email="dana@example.com"))
    finding = playbooks.decide(context)
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2
    assert "belongs to another customer" in finding.escalation_reason
    assert "UPS" not in finding.reply and "1Z999" not in finding.reply


def test_an_unknown_order_asks_the_customer(shop: Any) -> None:
    finding = playbooks.decide(GateContext(ticket("Where is my order #9999?", contact_email="dana@example.com")))
    assert finding is not None and finding.verdict == Verdict.NEEDS_CLIENT
    assert "could not find order 9999" in finding.reply


@pytest.mark.parametrize(
    ("tone", "expected"),
    [(Tone.FORMAL, "Dear Dana"), (Tone.FRIENDLY, "Hi Dana!"), (Tone.TECHNICAL, "plan=pro")],
)
def test_account_lookup_replies_in_the_requested_tone(shop: Any, tone: Tone, expected: str) -> None:
    context = GateContext(
        ticket(
            "Is my account active?",
            "Could you check my account details?",
            contact_email="dana@example.com",
            contact_name="Dana",
        ),
        tone=tone,
    )
    finding = playbooks.decide(context)
    assert finding is not None and finding.decided_by == "playbook:postgres-account-lookup"
    assert finding.verdict == Verdict.AUTO_RESOLVED and expected in finding.reply


def test_account_lookup_by_username_named_in_the_ticket(shop: Any) -> None:
    context = GateContext(
        ticket("Can you check my account details?", "My username is erik.", contact_email="someone.else@example.org")
    )
    finding = playbooks.decide(context)
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED and "suspended" in finding.reply


def test_without_the_connector_the_playbook_is_ruled_out(in_hartwell: Any) -> None:
    matches = playbooks.match(ticket("Where is my order #1042?", contact_email="dana@example.com"))
    order = next(m for m in matches if m.name == "postgres-order-status")
    assert not order.matched and "ruled out: no postgres connector" in order.reasons
    assert playbooks.decide(GateContext(ticket("Where is my order #1042?"))) is None
