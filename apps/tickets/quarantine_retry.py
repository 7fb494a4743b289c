"""Process a quarantined payload again, once its sender (or Gaby) is fixed: the bytes it arrived as go through the
source's own parser and the same ingestion as a fresh delivery; a payload that still fails stays in quarantine with
the new reason, never dropped.

A payload is read again as its source reads a delivery (``parse_webhook``): that is the shape every help desk that
pushes (the generic webhook, Zendesk, Freshdesk, HaloPSA, ConnectWise, ...) quarantines. A source that only polls
has no such parser: its payloads are left as they are, with a reason saying what reads the ticket again. (Autotask,
polled and pushed, reads a quarantined ticket again by its id: apps/tickets/sources/autotask/webhooks.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.tickets import rawtext
from apps.tickets.models import QuarantinedPayload
from apps.tickets.selectors import source_config
from apps.tickets.services import ingest_ticket
from apps.tickets.sources.base import UnsupportedOperation
from apps.tickets.sources.registry import adapter_for
from tenants.models import Client


@dataclass(frozen=True)
class RetryOutcome:
    ok: bool
    reason: str = ""  # why it is still quarantined
    ticket_id: str = ""


def retry_quarantined(*, client: Client, payload: QuarantinedPayload) -> RetryOutcome:
    """Parse and ingest ``payload`` again in the current schema (``client``'s). Resolved when it became a ticket."""
    if payload.resolved:
        return RetryOutcome(ok=False, reason="Already resolved.")
    source = payload.source
    headers = {"Content-Type": payload.content_type.split(";")[0].strip()}  # without Gaby's escape mark
    try:
        adapter = adapter_for(source, config=source_config(client=client, source=source))
        normalized = adapter.parse_webhook(rawtext.payload_bytes(payload), headers)
        with transaction.atomic():
            result = ingest_ticket(source=source, normalized=normalized)
            QuarantinedPayload.objects.filter(pk=payload.pk).update(resolved=True)
    except UnsupportedOperation:
        # A poll reads what changed since the previous one: it passed this ticket already and reads it again only
        # when the ticket changes at the source (saying "the next poll reads it" left people waiting for nothing).
        return RetryOutcome(
            ok=False,
            reason=f"{source.name} is polled and cannot read one ticket again on demand: the poll reads this ticket "
            "again when it next changes there (a reply, a status change); fix what the error names first.",
        )
    except Exception as exc:  # whatever parsing or storing raised: kept, with the reason of this attempt
        reason = f"Retried {timezone.now():%Y-%m-%d %H:%M} UTC: {type(exc).__name__}: {exc}"
        kept = f"{reason}\nBefore: {payload.error}"
        QuarantinedPayload.objects.filter(pk=payload.pk).update(error=rawtext.clean_text(kept, 5000))
        return RetryOutcome(ok=False, reason=reason)
    return RetryOutcome(ok=True, ticket_id=str(result.ticket.pk))
