"""Time records follow the work: a concluded investigation and an operator's message each make one.

The receivers run inside the transaction that saved the investigation or the message (apps/agent/writeback.py
concludes in one), so the record commits with the work it measures."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.agent.models import Investigation, InvestigationStatus
from apps.billing import ledger
from apps.tickets.models import Direction, Message

FINISHED = (InvestigationStatus.DONE, InvestigationStatus.FAILED)


@receiver(post_save, sender=Investigation, dispatch_uid="billing-investigation-time")
def investigation_saved(sender: type[Investigation], instance: Investigation, **kwargs: Any) -> None:
    if instance.status in FINISHED and instance.finished_at is not None:
        ledger.record_investigation(instance)


@receiver(post_save, sender=Message, dispatch_uid="billing-operator-time")
def message_saved(sender: type[Message], instance: Message, created: bool, **kwargs: Any) -> None:
    if created and instance.direction == Direction.OUTBOUND and instance.author_user_id is not None:
        ledger.record_operator_message(instance)
