"""ConnectWise through the default seam (its ``log_time_entry``, the marker in the notes): an investigation on a
polled ConnectWise ticket becomes one time entry charged to it; a dead worker leaves the record unconfirmed, since
this adapter cannot be asked which entries a ticket has, and nothing is written twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.billing import writeback
from apps.billing.models import TimeRecord
from apps.tickets import polling, services
from apps.tickets.models import Ticket
from sandbox.connectwise import ConnectWiseSandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as sandbox:
        yield sandbox


def test_connectwise_time_is_charged_to_the_ticket_once_and_a_lost_worker_waits_for_a_person(
    hartwell: Any, cw: ConnectWiseSandbox, rule: Any
) -> None:
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
            records.append(TimeRecord.objects.get(investigation=investigation))
        written, lost = records
        assert writeback.write(written.pk) == "written"
        assert writeback.claim(lost.pk) is not None  # its worker dies here
        TimeRecord.objects.filter(pk=lost.pk).update(
            attempted_at=timezone.now() - writeback.LEASE - timedelta(seconds=1)
        )
        assert writeback.write(lost.pk) == "unconfirmed"
        lost.refresh_from_db()
        assert "ConnectWise PSA cannot be asked whether it landed" in lost.reason
        charged_to = int(written.ticket.external_id)
    [entry] = list(cw.time_entries.values())
    assert (entry["chargeToType"], entry["chargeToId"]) == ("ServiceTicket", charged_to)
    assert (entry["actualHours"], entry["billableOption"]) == (0.1, "Billable")
    assert entry["workType"]["name"] == "Remote Support"
    assert entry["notes"].endswith(f"[gaby-time:{written.pk}]")
