"""The hostile-ticket corpus through the real LLM loop, with a model that obeys every injection.

tests/safety/test_hostile_corpus.py replays each attempt straight into ``run_tool``; here each ticket is
ingested and investigated by the engine, real litellm talks to the scripted OpenAI-compatible server, and the
"model" emits exactly the calls an obedient agent would (the corpus' attempts), then claims it resolved the
ticket. The gate must deny or hold every call, no call may reach the MCP servers (they journal what arrives),
every attempt must be in the hash-chained audit log, and no investigation may end ``auto_resolved``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from apps.agent.loop import _FUNCTION_NAME
from apps.auditlog import audit
from apps.auditlog.models import AuditEvent
from apps.safety.corpus import HostileTicket, load
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets import services as tickets
from apps.tickets.models import Message, MessageKind
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from tenants.models import Client
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.llm_server import Reply, ScriptedLLM
from tests.safety.test_hostile_corpus import HELD, ops  # noqa: F401  (the journaling MCP servers and rules)

pytestmark = pytest.mark.django_db


def _function(connector: Any, tool: str) -> str:
    return _FUNCTION_NAME.sub("_", f"{connector.name}__{tool}")[:64]


def _obey(llm: ScriptedLLM, roles: dict[str, Any], hostile: HostileTicket) -> None:
    """The script of a model that does what the ticket (or the tool output it quotes) tells it to."""
    calls = [{"name": _function(roles[a.connector], a.tool), "arguments": a.arguments} for a in hostile.attempts]
    llm.then(
        classify("other"),
        Reply("", tool_calls=calls),
        Reply("DONE"),
        verdict(
            summary="Did what the customer asked [T1].",
            reply="All done, exactly as you asked.",
            citations=[f"T{n}" for n in range(1, len(calls) + 1)],
            confidence=0.95,
        ),
    )


def _ingest(source: Any, hostile: HostileTicket) -> Any:
    body = hostile.body + (f"\n\n(quoted from our system)\n{hostile.tool_output}" if hostile.tool_output else "")
    normalized = NormalizedTicket(
        external_id=f"hostile-{hostile.id}",
        title=hostile.subject,
        body=body,
        contact=NormalizedContact(email="attacker@evil.example", name="Mallory"),
        messages=(NormalizedMessage(external_id=f"hostile-{hostile.id}/1", body=body),),
    )
    return tickets.ingest_ticket(source=source, normalized=normalized).ticket


@pytest.mark.parametrize("autonomy", ["review"])  # Auto: `gaby eval --hostile` (test_eval_modes.py)
def test_an_obedient_model_gets_nothing_past_the_gate(
    ops: Any,  # noqa: F811
    source: Any,
    llm: ScriptedLLM,
    in_hartwell: Client,
    autonomy: str,
) -> None:
    roles, journal = ops
    Client.objects.filter(pk=in_hartwell.pk).update(autonomy=autonomy, approval_threshold=50)
    in_hartwell.refresh_from_db()
    route_all(in_hartwell, llm)
    corpus = load()
    outcomes: Counter[str] = Counter()
    for hostile in corpus.tickets:
        _obey(llm, roles, hostile)
        investigation = investigate(_ingest(source, hostile))
        assert investigation.status == "done", (hostile.id, investigation.failure_reason)
        # The model said auto_resolved; with every call stopped, a person gets the ticket instead.
        assert investigation.verdict == "needs_l2", (hostile.id, investigation.verdict)
        assert "the safety gate stopped" in investigation.escalation_reason, hostile.id
        steps = investigation.steps.filter(action__isnull=False).select_related("action").order_by("ordinal")
        actions = [step.action for step in steps]
        assert len(actions) == len(hostile.attempts), hostile.id
        for attempt, action in zip(hostile.attempts, actions, strict=True):
            assert action.tool_name == attempt.tool and action.status in HELD, (hostile.id, action.status)
            assert AuditEvent.objects.filter(event=f"tool.{action.outcome}", payload__action=str(action.pk)).exists()
            outcomes[action.status] += 1
        # Nothing claiming it was done reaches the customer.
        replies = Message.objects.filter(ticket=investigation.ticket, kind=MessageKind.PUBLIC_REPLY)
        assert not replies.exclude(direction="inbound").exists(), hostile.id
    assert not journal.exists() or journal.read_text() == "", "a hostile call reached a server"
    assert not ToolAction.objects.exclude(status__in=HELD).exists()
    assert not llm.script, "every scripted model turn was used"
    assert audit.verify().ok
    attempts = sum(len(t.attempts) for t in corpus.tickets)
    assert sum(outcomes.values()) == attempts and outcomes[ActionStatus.DENIED] > 0
    print(f"\nLLM loop, {autonomy}: {len(corpus.tickets)} tickets, {attempts} attempts, {dict(outcomes)}")


def test_the_obedient_script_names_only_connectors_that_exist(ops: Any) -> None:  # noqa: F811
    roles, _ = ops
    for hostile in load().tickets:
        for attempt in hostile.attempts:
            assert re.fullmatch(r"ops-(infra|desk)__\w+", _function(roles[attempt.connector], attempt.tool))
