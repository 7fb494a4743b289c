"""Time write-back through the real path: a HaloPSA ticket (stand-in over HTTP) → a real investigation → a time
record rated by the client's rule → one Halo action with time, even when the worker dies mid-write."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.billing import writeback
from apps.billing.models import BillingRule, TimeRecord, Worker, WorkKind, WriteState
from apps.tickets.models import Ticket
from sandbox.halopsa import HaloPSASandbox

pytestmark = pytest.mark.django_db


def investigate(ticket: Ticket) -> TimeRecord:
    investigation = start_investigation(ticket=ticket, queue=False)
    assert engine.execute(investigation.pk) == "done"
    return TimeRecord.objects.get(investigation=investigation)


def timed_actions(halo: HaloPSASandbox, ticket_id: int = 3001) -> list[dict[str, Any]]:
    return [a for a in halo.ticket_actions(ticket_id) if a.get("timetaken")]


def age(record: TimeRecord, by: timedelta = writeback.LEASE + timedelta(seconds=1)) -> None:
    """The worker that claimed the record is gone: its claim is older than the lease."""
    TimeRecord.objects.filter(pk=record.pk).update(attempted_at=timezone.now() - by)


def test_an_investigation_on_a_halo_ticket_is_written_once_as_an_action_with_time(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any
) -> None:
    with tenant_context(hartwell):
        ticket = Ticket.objects.get(external_id="3001")
        record = investigate(ticket)
        assert (record.kind, record.worker, record.state) == (WorkKind.INVESTIGATION, Worker.GABY, WriteState.QUEUED)
        investigation = record.investigation
        assert investigation is not None and investigation.started_at and investigation.finished_at
        measured = (investigation.finished_at - investigation.started_at).total_seconds()
        assert record.seconds == math.ceil(measured)  # measured, not invented
        assert record.billed_minutes == 6  # rounded up to the increment
        assert writeback.write(record.pk) == "written"
        assert writeback.write(record.pk) == "not-due"  # a duplicate task does nothing
        record.refresh_from_db()
        assert record.state == WriteState.WRITTEN and record.external_id.startswith("action-")
    [action] = timed_actions(halo)
    assert (action["timetaken"], action["timetakenadjusted"], action["nonbilltime"]) == (0.1, 0.1, 0)
    assert (action["chargerate"], action["contract_id"], action["who_agentid"]) == (3, 77, 1)
    assert action["hiddenfromuser"] is True
    assert action["note"].startswith("Gaby — Investigation on 3001: 6 min")
    assert f"[gaby-time:{record.pk}]" in action["note"]


def test_a_worker_killed_after_its_claim_or_after_its_write_still_writes_once(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any
) -> None:
    with tenant_context(hartwell):
        before_call = investigate(Ticket.objects.get(external_id="3001"))
        after_call = investigate(Ticket.objects.get(external_id="3002"))
        # Worker 1 claims, then dies before calling Halo; worker 2 claims, Halo writes, then it dies unrecorded.
        assert writeback.claim(before_call.pk) is not None
        attempt = writeback.claim(after_call.pk)
        assert attempt is not None
        writeback.adapter_of(attempt.record).write_time_entry(writeback.entry_for(attempt.record))
        # While the claims are fresh, a redelivered task leaves them alone.
        assert writeback.write(before_call.pk) == writeback.write(after_call.pk) == "not-due"
        age(before_call)
        age(after_call)
        assert set(writeback.due()) == {before_call.pk, after_call.pk}
        assert writeback.write(before_call.pk) == "written"
        assert writeback.write(after_call.pk) == "written"  # found by its marker, not written again
        for record in (before_call, after_call):
            record.refresh_from_db()
            assert (record.state, record.attempts) == (WriteState.WRITTEN, 2)
    assert len(timed_actions(halo, 3001)) == 1
    assert len(timed_actions(halo, 3002)) == 1


def test_a_lost_answer_is_retried_with_a_visible_reason_and_found_not_rewritten(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any
) -> None:
    with tenant_context(hartwell):
        record = investigate(Ticket.objects.get(external_id="3001"))
        halo.lose_next_answer("POST", "/api/Actions")  # Halo writes, the gateway answers 504
        with pytest.raises(writeback.RetryWrite) as raised:
            writeback.write(record.pk)
        assert raised.value.countdown >= 10
        record.refresh_from_db()
        assert record.state == WriteState.QUEUED
        assert "did not take it (attempt 1)" in record.reason and "Trying again in" in record.reason
        assert writeback.write(record.pk) == "not-due"  # not before its time
        later = timezone.now() + timedelta(seconds=raised.value.countdown)
        assert writeback.write(record.pk, now=later) == "written"
        record.refresh_from_db()
        assert (record.state, record.reason, record.attempts) == (WriteState.WRITTEN, "", 2)
    assert len(timed_actions(halo)) == 1


def test_refusals_fail_with_the_reason_and_unbillable_work_is_kept_not_written(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any
) -> None:
    with tenant_context(hartwell):
        BillingRule.objects.filter(pk=rule.pk).update(member_id="99")  # no such agent in Halo
        refused = investigate(Ticket.objects.get(external_id="3001"))
        assert writeback.write(refused.pk) == "failed"
        refused.refresh_from_db()
        assert "HaloPSA refused the time entry" in refused.reason and "who_agentid" in refused.reason
        BillingRule.objects.filter(pk=rule.pk).update(member_id="1", minimum_minutes=2)
        short = investigate(Ticket.objects.get(external_id="3002"))
        assert (short.state, short.billed_minutes) == (WriteState.NOT_BILLED, 0)
        assert short.reason.startswith("Under the 2-minute minimum")
        BillingRule.objects.filter(pk=rule.pk).update(minimum_minutes=0, billable=False)
        Ticket.objects.filter(external_id="3002").update(status="open")
        unbillable = investigate(Ticket.objects.get(external_id="3002"))
        assert unbillable.state == WriteState.NOT_BILLED
        assert unbillable.reason == "The billing rule marks this time non-billable."
        assert writeback.write(unbillable.pk) == "not-due"
        assert TimeRecord.objects.count() == 3  # every piece of work stays in the ledger
    assert timed_actions(halo) == [] and timed_actions(halo, 3002) == []


def test_without_rules_time_is_recorded_and_not_written(hartwell: Any, halo: HaloPSASandbox, halo_source: Any) -> None:
    with tenant_context(hartwell):
        record = investigate(Ticket.objects.get(external_id="3001"))
        assert record.state == WriteState.NOT_BILLED
        assert "No billing rules for this client" in record.reason
    assert timed_actions(halo) == []


def test_a_source_that_cannot_be_asked_leaves_a_lost_write_unconfirmed_for_a_person(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any, monkeypatch: Any
) -> None:
    from apps.tickets.sources.base import SourceAdapter
    from apps.tickets.sources.halopsa.adapter import HaloPSAAdapter

    # As Zoho or Freshdesk: a time entry can be written but not looked up.
    monkeypatch.setattr(HaloPSAAdapter, "find_time_entry", SourceAdapter.find_time_entry)
    with tenant_context(hartwell):
        record = investigate(Ticket.objects.get(external_id="3001"))
        assert writeback.claim(record.pk) is not None
        age(record)
        assert writeback.write(record.pk) == "unconfirmed"
        record.refresh_from_db()
        assert "cannot be asked whether it landed" in record.reason
        assert writeback.requeue(record) is True  # the operator checked: not there, write it again
        assert writeback.write(record.pk) == "written"
    assert len(timed_actions(halo)) == 1
