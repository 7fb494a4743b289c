"""Billing's domain operations for the settings page and the ticket's Time panel, each audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.auditlog.audit import record_by
from apps.billing import ledger, writeback
from apps.billing.models import BillingRule, TimeRecord, WriteState
from apps.tickets.models import TicketSource

AUDITED = ["billable", "bill_gaby", "bill_operators", "minimum_minutes", "rounding_minutes", "work_type", "role",
           "agreement_id", "member_id"]  # fmt: skip


def save_rule(*, source: TicketSource | None, changes: dict[str, Any], actor: Any) -> BillingRule:
    with transaction.atomic():
        rule, _ = BillingRule.objects.select_for_update().get_or_create(source=source)
        for name, value in changes.items():
            setattr(rule, name, value)
        rule.save()
        record_by(
            "billing.rule_saved",
            actor,
            source=str(source.pk) if source else "",
            **{name: changes[name] for name in AUDITED if name in changes},
        )
    return rule


def delete_rule(*, rule: BillingRule, actor: Any) -> None:
    with transaction.atomic():
        source = rule.source_id
        rule.delete()
        record_by("billing.rule_deleted", actor, source=str(source or ""))


def decide(*, record: TimeRecord, write_again: bool, actor: Any) -> bool:
    """An operator's answer to a failed or unconfirmed write: send it again, or it is already in the PSA."""
    with transaction.atomic():
        done = writeback.requeue(record, written_by_hand=not write_again)
        if done:
            record_by("billing.time_decided", actor, record=str(record.pk), write_again=write_again)
            if write_again:
                record_id = record.pk
                transaction.on_commit(lambda: ledger.enqueue_write(record_id))
    return done


__all__ = ["WriteState", "decide", "delete_rule", "save_rule"]
