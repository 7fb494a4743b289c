"""The safety gate's decisions and the approval queue, as a scrape reads them: a write held for approval through
the real gate and a real MCP server (tests/safety/ledger_server.py), then approved and run, rejected, expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.safety import enforcement
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.tasks import execute_approved
from tenants.models import Client
from tests.observability.conftest import Samples, value
from tests.safety.conftest import ledger, ledger_file  # noqa: F401

pytestmark = pytest.mark.django_db


def _credit(connector: Any, key: str) -> ToolAction:
    return run_tool(
        connector=connector,
        tool_name="credit",
        arguments={"account": "acme", "amount": 5},
        context=CallContext(idempotency_key=key),
    )


def test_held_writes_are_waiting_until_decided(
    ledger: Any,  # noqa: F811 (the fixture imported above)
    in_hartwell: Client,
    people: dict[str, Any],
    scrape: Callable[..., Samples],
    committed: Any,
) -> None:
    client = in_hartwell.schema_name
    Client.objects.filter(pk=in_hartwell.pk).update(autonomy="review")  # propose: every write waits for a person
    in_hartwell.refresh_from_db()
    connector = ledger()
    before = scrape()
    with committed():
        held = [_credit(connector, f"obs-{n}") for n in range(3)]
    assert all(action.status == ActionStatus.AWAITING_APPROVAL for action in held)
    waiting = scrape()
    assert value(waiting, "gaby_approvals_waiting", client=client) == 3
    gate = "gaby_gate_decisions_total"
    assert (
        value(waiting, gate, client=client, outcome="needs_approval", access="write")
        - value(before, gate, client=client, outcome="needs_approval", access="write")
        == 3
    )

    with committed():
        enforcement.approve(action=held[0], actor=people["bob"], note="confirmed by phone")
        assert execute_approved.apply(args=(str(held[0].pk),)).get() is True
        enforcement.reject(action=held[1], actor=people["bob"], note="wrong account")
        ToolAction.objects.filter(pk=held[2].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        assert enforcement.expire_waiting() == 1
    after = scrape()
    assert value(after, "gaby_approvals_waiting", client=client) == 0
    for decision in ("approved", "rejected", "expired"):
        moved = value(after, "gaby_approval_decisions_total", client=client, decision=decision) - value(
            before, "gaby_approval_decisions_total", client=client, decision=decision
        )
        assert moved == 1, decision
    # The approved write ran on the (here: in-process) worker: its result was timed from the gate's decision.
    ran = "gaby_tool_call_duration_seconds_count"
    assert value(after, ran, access="write", status="done") - value(before, ran, access="write", status="done") == 1
