"""Auto-investigate: every new inbound ticket is investigated once its transaction commits (per-client setting)."""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.agent.investigations import start_investigation
from apps.tickets.models import Ticket

log = structlog.get_logger(__name__)


@receiver(post_save, sender=Ticket, dispatch_uid="agent.auto_investigate")
def _new_ticket(sender: Any, instance: Ticket, created: bool, **_: Any) -> None:
    if not created or not settings.AGENT_AUTO_INVESTIGATE:
        return
    if getattr(connection, "schema_name", "public") == "public":
        return
    ticket_id = instance.pk
    transaction.on_commit(lambda: auto_investigate(ticket_id))


def auto_investigate(ticket_id: Any) -> None:
    """Runs after the ticket committed: a failure here is logged, never turned into a failed ingestion."""
    from apps.agent.runtime import settings_for

    try:
        if not settings_for().auto_investigate:
            return
        ticket = Ticket.objects.select_related("source").filter(pk=ticket_id, deleted_at__isnull=True).first()
        if ticket is not None:
            start_investigation(ticket=ticket, triggered_by="auto")
    except Exception:
        log.exception("auto_investigate_failed", ticket=str(ticket_id))
