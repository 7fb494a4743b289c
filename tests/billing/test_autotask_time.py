"""Autotask time write-back through the real adapter and the stand-in over HTTP: an investigation on a polled
Autotask ticket becomes one time entry charged to it (the rule's resource, role and work type, hours from the
rounded minutes), its summary ending with the record's marker; a retry after a lost answer, and the sweep after a
worker killed mid-write, find that entry by marker and never write twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from django_tenants.utils import tenant_context

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.billing import writeback
from apps.billing.models import BillingRule, TimeRecord, WriteState
from apps.tickets import polling, services
from apps.tickets.models import Ticket
from sandbox.autotask import AutotaskSandbox
from tests.billing.psa_time import lost_answer_is_found_by_marker, sweep_confirms_a_killed_write

pytestmark = pytest.mark.django_db
CHARGED_TO: dict[UUID, int] = {}  # a record's Autotask ticket id
GABY_RESOURCE, PRIYA_RESOURCE, REMOTE_SUPPORT = 29682885, 29682886, 29682801


@pytest.fixture
def at() -> Iterator[AutotaskSandbox]:
    with AutotaskSandbox() as sandbox:
        yield sandbox


def at_records(hartwell: Any, at: AutotaskSandbox, **rule: Any) -> list[TimeRecord]:
    """Hartwell's Autotask source, polled once, its billing rule, and a time record for each of its two tickets."""
    config = {
        "webservices_url": at.base_url,
        "username": "gaby-api@northwind.example",
        "secret": "at-secret",
        "integration_code": "GABYTRACKINGIDENTIFIER01",
        "at_company_id": "174",
        "backfill_days": 3650,
    }
    with tenant_context(hartwell):
        BillingRule.objects.create(
            minimum_minutes=0,
            rounding_minutes=15,
            note_template="{{ worker }} — {{ kind }} on {{ ticket.external_id }}: {{ billed_minutes }} min",
            **rule,
        )
        source = services.create_source(client=hartwell, kind="autotask", name="Autotask", config=config)
        assert polling.poll(source.pk).status == "ok"
        records = []
        for ticket in Ticket.objects.filter(source=source).order_by("external_id"):
            investigation = start_investigation(ticket=ticket, queue=False)
            assert engine.execute(investigation.pk) == "done"
            record = TimeRecord.objects.get(investigation=investigation)
            CHARGED_TO[record.pk] = int(ticket.external_id)  # read outside the client's schema below
            records.append(record)
    return records


@pytest.fixture
def records(hartwell: Any, at: AutotaskSandbox) -> list[TimeRecord]:
    return at_records(hartwell, at, work_type=str(REMOTE_SUPPORT), member_id=str(PRIYA_RESOURCE))


def entries_for(at: AutotaskSandbox, record: TimeRecord) -> list[dict[str, Any]]:
    return [e for e in at.time_entries.values() if e["ticketID"] == CHARGED_TO[record.pk]]


def test_autotask_time_is_charged_to_the_ticket_once_with_its_marker(
    hartwell: Any, at: AutotaskSandbox, records: list[TimeRecord]
) -> None:
    record = records[0]
    with tenant_context(hartwell):
        assert writeback.write(record.pk) == "written"
        record.refresh_from_db()
    [entry] = list(at.time_entries.values())
    assert record.external_id == str(entry["id"]) and record.billed_minutes == 15
    assert (entry["ticketID"], entry["hoursWorked"], entry["isNonBillable"]) == (CHARGED_TO[record.pk], 0.25, False)
    # The rule's member is the resource, in its default service desk role; its work type is the billing code.
    assert (entry["resourceID"], entry["roleID"], entry["billingCodeID"]) == (PRIYA_RESOURCE, 29682834, REMOTE_SUPPORT)
    assert entry["summaryNotes"].endswith(f"[gaby-time:{record.pk}]")
    assert entry["summaryNotes"].count("[gaby-time:") == 1


def test_without_a_member_the_api_user_is_the_resource_and_without_a_work_type_it_says_what_to_set(
    hartwell: Any, at: AutotaskSandbox
) -> None:
    first, second = at_records(hartwell, at, work_type=str(REMOTE_SUPPORT))
    with tenant_context(hartwell):
        assert writeback.write(first.pk) == "written"
        BillingRule.objects.update(work_type="")
        TimeRecord.objects.filter(pk=second.pk).update(work_type="")
        assert writeback.write(second.pk) == "failed"
        second.refresh_from_db()
    [entry] = list(at.time_entries.values())
    assert (entry["resourceID"], entry["roleID"]) == (GABY_RESOURCE, 29682833)
    assert "needs a work type" in second.reason and "billing code id" in second.reason


def test_a_lost_answer_is_found_by_marker_on_retry_not_written_twice(
    hartwell: Any, at: AutotaskSandbox, records: list[TimeRecord]
) -> None:
    lost_answer_is_found_by_marker(
        hartwell, records, lambda: at.lose_next_answer("POST", "/TimeEntries"), lambda r: entries_for(at, r)
    )
    assert len(at.time_entries) == 2


def test_the_sweep_confirms_a_write_whose_worker_was_killed_and_writes_one_that_never_landed(
    hartwell: Any, at: AutotaskSandbox, records: list[TimeRecord], monkeypatch: Any
) -> None:
    sweep_confirms_a_killed_write(hartwell, records, monkeypatch, lambda r: entries_for(at, r))
    finds = [c for c in at.calls("POST") if c.path.endswith("/TimeEntries/query")]
    assert len(finds) == 2  # each second attempt asked Autotask for the marker before writing


def test_a_throttled_write_is_queued_with_autotasks_wait(
    hartwell: Any, at: AutotaskSandbox, records: list[TimeRecord]
) -> None:
    record = records[0]
    with tenant_context(hartwell):
        at.fail_next(429, path=f"{at.zone_root}/TimeEntries", method="POST", headers={"Retry-After": "90"})
        with pytest.raises(writeback.RetryWrite) as raised:
            writeback.write(record.pk)
        record.refresh_from_db()
    assert record.state == WriteState.QUEUED and "retry after 90s" in record.reason
    assert raised.value.countdown >= 90 and not at.time_entries
