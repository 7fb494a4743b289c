"""Delivering an outbound message to its source, exactly once even when the task is retried.

The task claims the message with a conditional UPDATE (queued → sending); only the claimer writes to
the source. A transient failure hands the claim back (sending → queued) for a retry; a permanent
one marks it failed with the reason. A crash mid-send leaves it in ``sending``: never sent twice,
and the operator sees it has not been confirmed. Gaby's message id is the idempotency key of the
write (the email Message-ID is derived from it, HTTP sinks get it as an Idempotency-Key header).
"""

from __future__ import annotations

from uuid import UUID

from django.db import connection, transaction

from apps.tickets import live
from apps.tickets.models import DeliveryState, Message, MessageKind
from apps.tickets.selectors import source_config
from apps.tickets.sources.base import OutboundMessage, SourceError, TransientSourceError
from apps.tickets.sources.registry import adapter_for


class RetryDelivery(Exception):
    """The source is temporarily unavailable; the claim was handed back, retry later."""


def claim(message_id: UUID | str) -> bool:
    return (
        Message.objects.filter(pk=message_id, delivery_state=DeliveryState.QUEUED).update(
            delivery_state=DeliveryState.SENDING
        )
        == 1
    )


def outbound_for(message: Message) -> OutboundMessage:
    ticket = message.ticket
    thread = list(
        # In the order Gaby received them (UUIDv7 ids): senders' Date headers may be skewed.
        Message.objects.filter(ticket=ticket, kind=MessageKind.PUBLIC_REPLY, id__lt=message.pk)
        .exclude(external_id="")
        .exclude(external_id__startswith="sha256:")
        .order_by("id")
        .values_list("external_id", flat=True)
    )
    return OutboundMessage(
        message_id=str(message.pk),
        ticket_external_id=ticket.external_id,
        body=message.body,
        kind=message.kind,
        author_label=message.author_label,
        title=ticket.title,
        contact_email=ticket.contact.email if ticket.contact else "",
        thread_ids=tuple(thread),
    )


def deliver(message_id: UUID | str) -> str:
    """Send one queued message to its source; returns what happened (for logs and tests)."""
    if not claim(message_id):
        return "not-queued"  # already sent, being sent, failed, or gone
    message = Message.objects.select_related("ticket__source", "ticket__contact").get(pk=message_id)
    source = message.ticket.source
    client = connection.tenant  # type: ignore[attr-defined]
    try:
        adapter = adapter_for(source, config=source_config(client=client, source=source))
        delivered = adapter.post_reply(outbound_for(message))
    except TransientSourceError as exc:
        _finish(message, state=DeliveryState.QUEUED, error=f"will retry: {exc}", expected=DeliveryState.SENDING)
        raise RetryDelivery(str(exc)) from exc
    except SourceError as exc:
        _finish(message, state=DeliveryState.FAILED, error=str(exc), expected=DeliveryState.SENDING)
        return "failed"
    _finish(
        message, state=DeliveryState.SENT, error="", expected=DeliveryState.SENDING, external_id=delivered.external_id
    )
    return "sent"


def give_up(message_id: UUID | str, reason: str) -> None:
    """Retries exhausted: a message still queued is marked failed so the operator sees it."""
    message = Message.objects.filter(pk=message_id).select_related("ticket").first()
    if message is not None:
        _finish(message, state=DeliveryState.FAILED, error=reason, expected=DeliveryState.QUEUED)


def _finish(message: Message, *, state: str, error: str, expected: str, external_id: str = "") -> None:
    fields: dict[str, str] = {"delivery_state": state, "delivery_error": error[:2000]}
    if external_id:
        fields["external_id"] = external_id[:500]
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, delivery_state=expected).update(**fields)
        ticket_id, message_pk = message.ticket_id, message.pk
        transaction.on_commit(lambda: live.announce_message_update(ticket_id=ticket_id, message_id=message_pk))
