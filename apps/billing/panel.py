"""The Time panel on a ticket's page: its time records, the minutes billed, and each write-back's state."""

from __future__ import annotations

from typing import Any

from apps.billing.models import TimeRecord, WriteState
from apps.tickets.models import Ticket

TEMPLATE = "billing/_time_panel.html"
PENDING = (WriteState.QUEUED, WriteState.WRITING)


def panel_context(ticket: Ticket, *, can_write: bool, error: str = "") -> dict[str, Any]:
    records = list(TimeRecord.objects.filter(ticket=ticket).order_by("created_at"))
    return {
        "ticket": ticket,
        "records": records,
        "worked_minutes": round(sum(r.seconds for r in records) / 60, 1),
        "billed_minutes": sum(r.billed_minutes for r in records if r.state == WriteState.WRITTEN),
        "pending": any(r.state in PENDING for r in records),
        "can_write": can_write,
        "error": error,
    }
