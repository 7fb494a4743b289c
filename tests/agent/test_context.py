"""The engine's context: steps recorded, knowledge cited, tool calls through the safety gate with stable keys."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent.context import RunContext
from apps.agent.contracts import StepKind, Verdict
from apps.agent.investigations import effective_autonomy, start_investigation
from apps.agent.models import (
    Investigation,
    InvestigationStatus,
    InvestigationStep,
    VerdictChoice,
)
from apps.safety.models import ToolAction
from apps.safety.policy import Autonomy

pytestmark = pytest.mark.django_db


def test_model_choices_match_the_contract() -> None:
    assert set(VerdictChoice.values) == {v.value for v in Verdict}
    assert [value for value, _ in InvestigationStep._meta.get_field("kind").choices] == [k.value for k in StepKind]


def test_start_is_idempotent_while_one_is_active(make_ticket: Any, in_hartwell: Any) -> None:
    ticket = make_ticket()
    first = start_investigation(ticket=ticket)
    assert start_investigation(ticket=ticket).pk == first.pk
    Investigation.objects.filter(pk=first.pk).update(status=InvestigationStatus.DONE)
    second = start_investigation(ticket=ticket, triggered_by="rerun")
    assert second.pk != first.pk and second.status == InvestigationStatus.QUEUED
    assert (second.depth, second.tone, second.autonomy) == ("standard", "friendly", "investigate")


def test_the_source_can_only_lower_the_clients_autonomy(make_ticket: Any, in_hartwell: Any, source: Any) -> None:
    ticket = make_ticket()
    in_hartwell.autonomy = "auto"
    assert effective_autonomy(in_hartwell, ticket) is Autonomy.ACT
    ticket.source.autonomy = "propose"
    ticket.source.save(update_fields=["autonomy"])
    assert effective_autonomy(in_hartwell, ticket) is Autonomy.PROPOSE
    in_hartwell.autonomy = "investigate"
    assert effective_autonomy(in_hartwell, ticket) is Autonomy.INVESTIGATE


def _running(ticket: Any) -> Investigation:
    investigation = start_investigation(ticket=ticket)
    Investigation.objects.filter(pk=investigation.pk).update(status=InvestigationStatus.RUNNING, attempts=1)
    investigation.refresh_from_db()
    return investigation


def test_tool_calls_go_through_the_gate_once_per_call(make_ticket: Any, billing_db: Any) -> None:
    investigation = _running(make_ticket())
    context = RunContext(investigation, source_autonomy=None)
    sql = {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["user2@example.com"]}
    outcome = context.call_tool("postgres", "query", sql, purpose="Look up the plan")
    assert outcome.executed and not outcome.is_error and outcome.data["rows"] == [["pro"]]
    assert outcome.citation.kind == "tool" and outcome.citation.ref == outcome.action_id
    step = InvestigationStep.objects.get(investigation=investigation)
    assert (step.ordinal, step.kind, step.system, step.action_id) == (
        1,
        "query",
        "Billing DB",
        ToolAction.objects.get().pk,
    )
    # The same call made again in the same run is a second call; a resumed run replays both keys.
    context.call_tool("Billing DB", "query", sql, purpose="Again")
    assert ToolAction.objects.count() == 2
    resumed = RunContext(investigation, source_autonomy=None)
    again = resumed.call_tool("postgres", "query", sql, purpose="Look up the plan")
    assert again.action_id == outcome.action_id and ToolAction.objects.count() == 2
    assert resumed.record_step(StepKind.READ, system="gaby", title="continues numbering") == 4


def test_writes_are_refused_by_the_gate_and_recorded(make_ticket: Any, billing_db: Any) -> None:
    investigation = _running(make_ticket())
    context = RunContext(investigation, source_autonomy="investigate")
    outcome = context.call_tool("postgres", "query", {"sql": "DELETE FROM customers WHERE id = 1"}, purpose="x")
    assert outcome.is_error and "read-only" in outcome.text
    missing = context.call_tool("keycloak", "reset_password", {"user": "dana"}, purpose="reset")
    assert (missing.status, missing.executed, missing.action_id) == ("unavailable", False, "")


def test_knowledge_search_gives_cited_passages_with_confidence(make_ticket: Any, knowledge: Any) -> None:
    investigation = _running(make_ticket(title="VPN password", body="How do I reset my VPN password?"))
    context = RunContext(investigation, source_autonomy=None)
    passages = context.search_knowledge("How do I reset my VPN password?")
    assert passages and "self-service" in passages[0].text
    assert 0.5 < passages[0].score <= 1 and passages[0].score >= passages[-1].score
    assert passages[0].citation.kind == "knowledge" and "VPN runbook" in passages[0].citation.label
    assert passages[0].citation.ref in context.seen
    step = InvestigationStep.objects.get(investigation=investigation)
    assert step.kind == "read" and step.citations[0]["kind"] == "knowledge"
