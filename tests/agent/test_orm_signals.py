"""Writes keep the ORM's semantics: every row an investigation stores is announced by ``post_save``.

Receivers are how Django code learns about writes (auto-investigate is a ``post_save`` receiver on Ticket), so a
write that goes around ``save()`` silently switches them off. A receiver connected here hears the real service
paths — the start, the safety gate's action and its result, the conclusion, what it teaches, the reply to the
customer and the ticket it touches, and every audit event on the way — on the real PostgreSQL. A write that
bypasses ``save()`` (a hand-built INSERT or UPDATE, a ``queryset.update`` in place of a save) fails it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from django.db.models.signals import post_save

from apps.agent.models import Investigation
from apps.auditlog.models import AuditEvent
from apps.knowledge.models import KBCandidate
from apps.safety.models import ToolAction
from apps.tickets.models import Message, Ticket
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db

# Every model a write of the investigation path stores (the former one-round-trip batches wrote all of them).
MODELS: tuple[type[Model], ...] = (Investigation, ToolAction, AuditEvent, KBCandidate, Message, Ticket)
QUERY = {
    "name": "Billing_DB__query",
    "arguments": {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]},
}


@dataclass(frozen=True)
class Heard:
    pk: Any
    created: bool
    update_fields: frozenset[str] | None
    state: dict[str, Any]  # the instance's fields as the receiver saw them


@pytest.fixture
def heard() -> Iterator[dict[type[Model], list[Heard]]]:
    """What a ``post_save`` receiver (connected for every sender, as an app's would be) hears, by model."""
    saves: dict[type[Model], list[Heard]] = defaultdict(list)

    def receiver(sender: type[Model], instance: Model, created: bool, update_fields: Any, **_: Any) -> None:
        state = {field.attname: getattr(instance, field.attname) for field in sender._meta.concrete_fields}
        saves[sender].append(Heard(instance.pk, created, frozenset(update_fields) if update_fields else None, state))

    post_save.connect(receiver, weak=False, dispatch_uid="tests.orm_signals")
    try:
        yield saves
    finally:
        post_save.disconnect(dispatch_uid="tests.orm_signals")


def test_every_row_an_investigation_stores_is_announced_by_post_save(
    make_ticket: Any,
    billing_db: Any,
    knowledge: Any,
    llm: ScriptedLLM,
    in_hartwell: Any,
    heard: dict[type[Model], list[Heard]],
) -> None:
    route_all(in_hartwell, llm)
    ticket = make_ticket(external_id="SIG-1")
    before = {model: set(model._default_manager.values_list("pk", flat=True)) for model in MODELS}
    heard.clear()  # from here on: the investigation only
    answer = verdict(summary="Pro [T1] per [K1].", reply="You are on the pro plan.", citations=["T1", "K1"])
    llm.then(classify(), Reply("", tool_calls=[QUERY]), Reply("DONE"), answer)

    investigation = investigate(ticket)

    assert (investigation.status, investigation.verdict, investigation.decided_by) == ("done", "auto_resolved", "llm")
    # Every row the run inserted, of every model, was heard as created.
    for model in MODELS:
        new = set(model._default_manager.values_list("pk", flat=True)) - before[model]
        created = {save.pk for save in heard[model] if save.created}
        assert new <= created, f"{model.__name__}: stored without post_save: {sorted(map(str, new - created))}"
    inserted = {
        model: len(set(model._default_manager.values_list("pk", flat=True)) - before[model]) for model in MODELS
    }
    # The run wrote one of each (the ticket already existed), and at least four audit events: queued, the gate's
    # decision, the call's result, the conclusion and the reply's.
    assert inserted[Investigation] == inserted[ToolAction] == inserted[KBCandidate] == inserted[Message] == 1
    assert inserted[AuditEvent] >= 5 and inserted[Ticket] == 0

    # Updates are heard too, with what they stored.
    action = ToolAction.objects.get(idempotency_key__startswith=f"inv:{investigation.pk}:")
    finished = [save for save in heard[ToolAction] if save.pk == action.pk and not save.created]
    assert finished and finished[-1].state["status"] == action.status == "done"
    assert {"status", "result_text", "executed_at"} <= (finished[-1].update_fields or frozenset())
    concluded = [save for save in heard[Investigation] if save.pk == investigation.pk and not save.created]
    assert concluded and concluded[-1].state["status"] == "done" and concluded[-1].state["verdict"] == "auto_resolved"
    touched = [save for save in heard[Ticket] if save.pk == ticket.pk and not save.created]
    assert touched and "updated_at" in (touched[0].update_fields or frozenset())

    # An audit event is heard as save() would send it: the stored link, sequence and hashes included.
    for save in heard[AuditEvent]:
        stored = AuditEvent.objects.get(pk=save.pk)
        assert (save.state["sequence"], save.state["prev_hash"], save.state["hash"]) == (
            stored.sequence,
            stored.prev_hash,
            stored.hash,
        )
    events = {save.state["event"] for save in heard[AuditEvent]}
    assert {
        "investigation.queued",
        "tool.allow",
        "tool.executed",
        "investigation.concluded",
        "ticket.replied",
    } <= events
