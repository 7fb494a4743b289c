"""Billing rules: which rule applies to a ticket, and what it makes of a measured piece of work.

The source's own rule wins over the client's default. Under the rule, work is billed when the rule bills that
worker (Gaby or operators), is billable, lasts at least the minimum, and the ticket's source can take time
entries; billed minutes are the measured time rounded up to the rule's increment. A record that is not billed
keeps the reason, in words an operator can act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import F, Q

from apps.agent.playbooks.templating import TemplateProblem, check_template, render
from apps.billing.models import BillingRule, Worker
from apps.tickets.models import Ticket, TicketSource
from apps.tickets.sources.base import SourceAdapter
from apps.tickets.sources.registry import adapter_class

NOTE_LIMIT = 4000


@dataclass(frozen=True)
class Rated:
    billed_minutes: int
    billable: bool
    reason: str  # why it is not written ("" when it is)
    note: str = ""


def rule_for(source_id: UUID | None) -> BillingRule | None:
    """The source's own rule, else the client's default; one query."""
    wanted = Q(source__isnull=True) | Q(source_id=source_id) if source_id else Q(source__isnull=True)
    return BillingRule.objects.filter(wanted).order_by(F("source_id").asc(nulls_last=True)).first()


def takes_time(source: TicketSource) -> bool:
    """Whether the source's adapter can write time entries at all (its own log or write of a time entry)."""
    try:
        adapter = adapter_class(source.kind)
    except (KeyError, ValueError):
        return False
    return (
        adapter.log_time_entry is not SourceAdapter.log_time_entry
        or adapter.write_time_entry is not SourceAdapter.write_time_entry
    )


def billed_minutes(seconds: int, rule: BillingRule) -> int:
    """Measured seconds rounded up to whole minutes, then up to the rule's increment."""
    minutes = math.ceil(seconds / 60)
    step = max(1, rule.rounding_minutes)
    return math.ceil(minutes / step) * step


def rate(*, ticket: Ticket, worker: str, seconds: int, rule: BillingRule | None, note_context: dict[str, Any]) -> Rated:
    if rule is None:
        return Rated(0, False, "No billing rules for this client: set them under Settings → Billing rules.")
    if not rule.billable:
        return Rated(0, False, "The billing rule marks this time non-billable.")
    if worker == Worker.GABY and not rule.bill_gaby:
        return Rated(0, False, "The billing rule does not bill Gaby's own time.")
    if worker == Worker.OPERATOR and not rule.bill_operators:
        return Rated(0, False, "The billing rule does not bill operators' time.")
    if seconds <= 0:
        return Rated(0, False, "No working time was measured.")
    if seconds < rule.minimum_minutes * 60:
        return Rated(0, False, f"Under the {rule.minimum_minutes}-minute minimum ({seconds} s worked).")
    if not takes_time(ticket.source):
        return Rated(0, False, f"{ticket.source.get_kind_display()} sources take no time entries.")
    minutes = billed_minutes(seconds, rule)
    context = {**note_context, "billed_minutes": minutes, "role": rule.role}
    try:
        note = render(rule.note_template, context)[:NOTE_LIMIT]
    except TemplateProblem as exc:
        return Rated(minutes, True, f"The billing rule's note template failed ({exc}): fix it, then write again.")
    return Rated(minutes, True, "", note)


def check_note_template(source: str) -> None:
    """Raise ``TemplateProblem`` when the template does not compile (the rules form shows it)."""
    check_template(source)
