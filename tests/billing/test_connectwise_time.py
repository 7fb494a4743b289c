"""ConnectWise time write-back through the real adapter and the stand-in over HTTP: an investigation on a polled
ConnectWise ticket becomes one time entry charged to it, its notes ending with the record's marker; a retry after
a lost answer, and the sweep after a worker killed mid-write, find that entry by marker and never write twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.billing import tasks, writeback
from apps.billing.models import TimeRecord, WriteState
from apps.tickets import polling, services
from apps.tickets.models import Ticket
from sandbox.connectwise import ConnectWiseSandbox

pytestmark = pytest.mark.django_db
CHARGED_TO: dict[UUID, int] = {}  # a record's ConnectWise ticket id


@pytest.fixture
def cw() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def cw_records(hartwell: Any, cw: ConnectWiseSandbox, rule: Any) -> list[TimeRecord]:
    """Hartwell's ConnectWise source, polled once, and a time record for each of its first two tickets."""
    config = {
        "site_url": cw.base_url,
        "company_id": "northwind",
        "public_key": "pubkey-gaby",
        "private_key": "privkey-gaby",
        "client_id": "6a1f5b7e-3c0d-4f59-9d8e-1b2c3d4e5f60",
        "cw_company_id": "250",
        "callback_secret": "c" * 24,
        "backfill_days": 3650,
        "time_work_type": "Remote Support",
    }
    with tenant_context(hartwell):
        source = services.create_source(client=hartwell, kind="connectwise", name="ConnectWise", config=config)
        assert polling.poll(source.pk).status == "ok"
        records = []
        for ticket in Ticket.objects.filter(source=source).order_by("external_id")[:2]:
            investigation = start_investigation(ticket=ticket, queue=False)
            assert engine.execute(investigation.pk) == "done"
            record = TimeRecord.objects.get(investigation=investigation)
            CHARGED_TO[record.pk] = int(ticket.external_id)  # read outside the client's schema below
            records.append(record)
    return records


def entries_for(cw: ConnectWiseSandbox, record: TimeRecord) -> list[dict[str, Any]]:
    return [e for e in cw.time_entries.values() if e["chargeToId"] == CHARGED_TO[record.pk]]


def test_connectwise_time_is_charged_to_the_ticket_once_with_its_marker(
    hartwell: Any, cw: ConnectWiseSandbox, cw_records: list[TimeRecord]
) -> None:
    record = cw_records[0]
    with tenant_context(hartwell):
        assert writeback.write(record.pk) == "written"
        record.refresh_from_db()
    [entry] = list(cw.time_entries.values())
    assert record.external_id == str(entry["id"])
    assert (entry["chargeToType"], entry["chargeToId"]) == ("ServiceTicket", CHARGED_TO[record.pk])
    assert (entry["actualHours"], entry["billableOption"]) == (0.1, "Billable")
    assert entry["workType"]["name"] == "Remote Support"
    assert entry["notes"].endswith(f"[gaby-time:{record.pk}]")
    assert entry["notes"].count("[gaby-time:") == 1


def test_a_lost_answer_is_found_by_marker_on_retry_not_written_twice(
    hartwell: Any, cw: ConnectWiseSandbox, cw_records: list[TimeRecord]
) -> None:
    first, second = cw_records
    with tenant_context(hartwell):
        assert writeback.write(second.pk) == "written"  # another ticket's entry: not mistaken for this one
        cw.lose_next_answer("POST", "/time/entries")  # Manage writes, the gateway answers 504
        with pytest.raises(writeback.RetryWrite) as raised:
            writeback.write(first.pk)
        first.refresh_from_db()
        assert first.state == WriteState.QUEUED and "did not take it (attempt 1)" in first.reason
        assert len(entries_for(cw, first)) == 1  # it did land
        later = timezone.now() + timedelta(seconds=raised.value.countdown)
        assert writeback.write(first.pk, now=later) == "written"
        first.refresh_from_db()
    [entry] = entries_for(cw, first)
    assert (first.state, first.reason, first.attempts) == (WriteState.WRITTEN, "", 2)
    assert first.external_id == str(entry["id"])
    assert len(cw.time_entries) == 2


def test_the_sweep_confirms_a_write_whose_worker_was_killed_and_writes_one_that_never_landed(
    hartwell: Any, cw: ConnectWiseSandbox, cw_records: list[TimeRecord], monkeypatch: Any
) -> None:
    after_write, before_write = cw_records
    with tenant_context(hartwell):
        # One worker writes to Manage and dies before recording it; the other dies right after its claim.
        attempt = writeback.claim(after_write.pk)
        assert attempt is not None
        written_id = writeback.adapter_of(attempt.record).write_time_entry(writeback.entry_for(attempt.record))
        assert writeback.claim(before_write.pk) is not None
        for record in cw_records:
            TimeRecord.objects.filter(pk=record.pk).update(
                attempted_at=timezone.now() - writeback.LEASE - timedelta(seconds=1)
            )
    # The beat's sweep sends each lost record's task again; here the task runs in this process, not a broker.
    monkeypatch.setattr(tasks.write_time, "apply_async", lambda args: tasks.write_time.apply(args=args).get())
    assert tasks.sweep_time() == 2
    with tenant_context(hartwell):
        for record in cw_records:
            record.refresh_from_db()
            assert (record.state, record.attempts) == (WriteState.WRITTEN, 2), record.reason
    assert after_write.external_id == written_id
    assert [len(entries_for(cw, r)) for r in cw_records] == [1, 1]
