"""The LLM loop against real litellm and a scripted OpenAI-compatible server: tools through the gate,
citations checked, malformed arguments survived, the budget's hard stop, write-back by autonomy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.agent.models import ReplyState
from apps.knowledge.models import KBCandidate
from apps.llm.models import LLMCall
from apps.safety.models import ToolAction
from apps.tickets.models import DeliveryState, Message, MessageKind
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db
PLAN_QUERY = {
    "name": "Billing_DB__query",
    "arguments": {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]},
}


def test_investigates_with_tools_and_replies_in_act_mode(
    make_ticket: Any, billing_db: Any, knowledge: Any, llm: ScriptedLLM, in_hartwell: Any
) -> None:
    in_hartwell.autonomy = "auto"
    route_all(in_hartwell, llm)
    llm.then(
        classify(),
        Reply("", tool_calls=[PLAN_QUERY]),
        Reply("DONE"),
        verdict(
            summary="The billing DB says pro [T1]; plans are described in [K1].",
            reply="Hi [EMAIL_1], you are on the pro plan [T1], which includes priority support.",
            citations=["T1", "K1", "K9"],
            is_infra=False,
        ),
    )
    investigation = investigate(make_ticket())
    assert (investigation.status, investigation.verdict, investigation.decided_by) == ("done", "auto_resolved", "llm")
    # The model saw placeholders, the tool got the real address, the customer reads it restored.
    sent = json.dumps(llm.requests)
    assert "user2@example.com" not in sent and "[EMAIL_1]" in sent and '<untrusted source=\\"ticket' in sent
    action = ToolAction.objects.get()
    assert action.arguments["params"] == ["user2@example.com"] and action.status == "done"
    assert investigation.reply == "Hi user2@example.com, you are on the pro plan, which includes priority support."
    labels = [c["label"] for c in investigation.citations]
    assert any(label.startswith("Billing DB.query") for label in labels) and len(labels) == 2  # K9 was never shown
    assert investigation.is_infra is False
    # Act: the reply is queued for delivery to the source once, and the ticket is solved.
    message = Message.objects.get(pk=investigation.reply_message_id)
    assert (message.kind, message.delivery_state, message.author_label) == ("public_reply", DeliveryState.NONE, "Gaby")
    assert investigation.reply_state == ReplyState.SENT and investigation.ticket.status == "solved"
    kinds = list(investigation.steps.values_list("kind", flat=True))
    assert kinds == ["read", "read", "read", "read", "query", "verify", "verdict"]  # the first: Gaby read the ticket
    tool_step = investigation.steps.get(kind="query")
    assert tool_step.action_id == action.pk and tool_step.llm_call.workflow == "plan"
    calls = LLMCall.objects.filter(budget_key=str(investigation.pk))
    assert calls.count() == 4 and investigation.tokens == 4 * 30
    verify = investigation.steps.get(kind="verify")
    assert verify.data["rejected"] == ["K9"]
    # LEARN: the model-written resolution is proposed for the knowledge base, without the customer's address.
    candidate = KBCandidate.objects.get(origin_ref=str(investigation.pk))
    assert (candidate.origin_kind, candidate.status) == ("investigation", "proposed")
    assert "user2@example.com" not in candidate.body and "pro plan" in candidate.body and "Sources:" in candidate.body


def test_malformed_tool_arguments_are_fed_back_not_crashed_on(
    make_ticket: Any, billing_db: Any, llm: ScriptedLLM, in_hartwell: Any
) -> None:
    route_all(in_hartwell, llm)
    llm.then(
        classify(),
        Reply("", tool_calls=[{"name": "Billing_DB__query", "arguments": "SELECT plan FROM customers"}]),
        Reply("", tool_calls=[{"name": "Nowhere__drop_everything", "arguments": {}}]),
        Reply("", tool_calls=[PLAN_QUERY]),
        Reply("DONE"),
        verdict(reply="You are on the pro plan.", citations=["T1"]),
    )
    investigation = investigate(make_ticket())
    assert investigation.status == "done" and investigation.verdict == "auto_resolved"
    titles = list(investigation.steps.values_list("title", flat=True))
    assert "Malformed arguments for query" in titles and "Unknown tool Nowhere__drop_everything" in titles
    feedback = llm.requests[2]["messages"][-1]["content"]
    assert "not a valid JSON object" in feedback
    assert "no tool named 'Nowhere__drop_everything'" in llm.requests[3]["messages"][-1]["content"]
    assert ToolAction.objects.count() == 1
    # Investigate autonomy (Hartwell's default): the reply becomes an internal note, nothing is sent.
    note = Message.objects.get(pk=investigation.reply_message_id)
    assert note.kind == MessageKind.INTERNAL_NOTE and investigation.reply_state == ReplyState.NOTED


def test_an_uncited_resolution_is_escalated_with_evidence(
    make_ticket: Any, llm: ScriptedLLM, in_hartwell: Any, people: dict[str, Any], mailoutbox: Any
) -> None:
    from apps.agent.runtime import settings_for
    from apps.agent.tasks import notify_escalation

    agent_settings = settings_for()
    agent_settings.escalation_assignee_id = people["bob"].pk
    agent_settings.save()
    route_all(in_hartwell, llm)
    llm.then(classify(), verdict(reply="Sure, done!", citations=["TICKET", "K7"]))
    investigation = investigate(make_ticket())
    assert investigation.verdict == "needs_l2" and "without citing" in investigation.escalation_reason
    ticket = investigation.ticket
    ticket.refresh_from_db()
    assert ticket.assignee_id == people["bob"].pk
    note = ticket.messages.get(kind=MessageKind.INTERNAL_NOTE)
    assert "Gaby escalated this ticket: Needs L2 support." in note.body and "Timeline:" in note.body
    bundle = json.loads(note.attachments.get().file.read())
    assert bundle["verdict"] == "needs_l2" and [s["kind"] for s in bundle["timeline"]][-1] == "verdict"
    assert investigation.reply_state == ReplyState.DRAFTED  # an operator may still send the suggested reply
    assert notify_escalation.run(str(investigation.pk)) == "sent"
    assert mailoutbox[0].to == [people["bob"].email] and "Escalated" in mailoutbox[0].subject


def test_the_budget_stops_a_looping_investigation(
    make_ticket: Any, billing_db: Any, llm: ScriptedLLM, in_hartwell: Any
) -> None:
    from apps.agent.runtime import settings_for

    agent_settings = settings_for()
    agent_settings.max_tokens = 3000
    agent_settings.save()
    route_all(in_hartwell, llm)
    looping = Reply("", tool_calls=[{"name": "Billing_DB__list_tables", "arguments": {}}], usage=(700, 50))
    llm.then(classify(), *[looping] * 12)
    investigation = investigate(make_ticket(), depth="deep")
    assert investigation.status == "failed" and investigation.verdict == "failed"
    assert investigation.failure_reason.startswith("Budget stop: Token budget reached")
    assert LLMCall.objects.filter(budget_key=str(investigation.pk), status="budget_stopped").count() == 1
    # The check is made before each call: only the last call's own usage may go past the limit.
    assert 1 <= ToolAction.objects.count() < 12 and investigation.tokens <= 3000 + 750
    assert investigation.steps.last().title == "Investigation failed"


def test_a_model_outage_fails_the_investigation_with_the_reason(
    make_ticket: Any, llm: ScriptedLLM, in_hartwell: Any
) -> None:
    from tests.llm_server import Fail

    route_all(in_hartwell, llm)
    llm.then(classify(), Fail(500), Fail(500), Fail(500))
    investigation = investigate(make_ticket())
    assert investigation.status == "failed" and "The model could not answer" in investigation.failure_reason
