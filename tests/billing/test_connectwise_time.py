"""ConnectWise time write-back through the real adapter and the stand-in over HTTP: an investigation on a polled
ConnectWise ticket becomes one time entry charged to it, its notes ending with the record's marker; a retry after
a lost answer, and the sweep after a worker killed mid-write, find that entry by marker and never write twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from django_tenants.utils import tenant_context

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.billing import writeback
from apps.billing.models import TimeRecord
from apps.tickets import polling, services
from apps.tickets.models import Ticket
from sandbox.connectwise import ConnectWiseSandbox
from tests.billing.psa_time import lost_answer_is_found_by_marker, sweep_confirms_a_killed_write

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
        # The rule decides the work type, member and agreement (by name, by identifier, by number).
        rule.work_type, rule.member_id, rule.agreement_id = "Onsite", "priya", "77"
        rule.save()
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
    # the rule's work type, member and agreement win over the source's own time_work_type
    assert entry["workType"]["name"] == "Onsite" and entry["member"]["identifier"] == "priya"
    assert entry["agreement"] == {"id": 77}
    assert entry["notes"].endswith(f"[gaby-time:{record.pk}]")
    assert entry["notes"].count("[gaby-time:") == 1


def test_a_lost_answer_is_found_by_marker_on_retry_not_written_twice(
    hartwell: Any, cw: ConnectWiseSandbox, cw_records: list[TimeRecord]
) -> None:
    lost_answer_is_found_by_marker(
        hartwell, cw_records, lambda: cw.lose_next_answer("POST", "/time/entries"), lambda r: entries_for(cw, r)
    )
    assert len(cw.time_entries) == 2


def test_the_sweep_confirms_a_write_whose_worker_was_killed_and_writes_one_that_never_landed(
    hartwell: Any, cw: ConnectWiseSandbox, cw_records: list[TimeRecord], monkeypatch: Any
) -> None:
    sweep_confirms_a_killed_write(hartwell, cw_records, monkeypatch, lambda r: entries_for(cw, r))
