"""Requests for an action made in a Slack/Teams thread become tickets the investigation engine works (SRC-4).

The knowledge base closes questions only (DESIGN §8 "Read before matching"): a message the triage classifies as an
action request or an incident ("reset my MFA", "the VPN drops every hour") is not answered with a passage. It becomes
a ticket of the ``chat`` source of its surface, whose requester is the platform's verified user (the conversation's
visitor) — never someone the text names, who stays a third party for the safety gate. Auto-investigation picks the
ticket up (playbooks, the gate, the model's loop); whatever it replies publicly is delivered by the ticket's sink,
``ChatThreadAdapter``, into the same thread. Later messages in the thread join the same ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db import transaction

from apps.agent.triage import TicketKind, classify
from apps.chat import services
from apps.chat.models import ChatMessage, Conversation, Role, Surface
from apps.chat.surfaces.outbound import SurfaceError, TransientSurfaceError, outbound_for
from apps.tickets.models import SourceKind, Ticket, TicketSource
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.services import ingest_ticket
from apps.tickets.sources.base import Delivered, OutboundMessage, SourceAdapter, SourceError, TransientSourceError

ACTION_KINDS = {TicketKind.ACTION_REQUEST, TicketKind.INCIDENT, TicketKind.OUTAGE}
TICKET_PREFIX = "chat:"
OPENED_REPLY = "I've opened a ticket for this and I'm looking into it now; I'll reply in this thread."


def is_action_request(text: str) -> bool:
    return classify("", text, flags=[]).kind in ACTION_KINDS


def source_for(surface: str) -> TicketSource:
    """The inbox source of one surface's tickets ("Slack", "Microsoft Teams"): created on first use."""
    name = Surface(surface).label
    source = TicketSource.objects.filter(kind=SourceKind.CHAT, name=name).first()
    return source or TicketSource.objects.create(kind=SourceKind.CHAT, name=name)


def open_ticket(*, conversation: Conversation, message: ChatMessage) -> Ticket:
    """The conversation's ticket with this message appended (created with the first request), and a note in the
    thread saying so. Runs in ``receive``'s transaction."""
    result = ingest_ticket(
        source=source_for(conversation.surface),
        normalized=NormalizedTicket(
            external_id=f"{TICKET_PREFIX}{conversation.pk}",
            title=message.body.splitlines()[0][:120] or "Chat request",
            body=message.body,
            contact=NormalizedContact(email=conversation.visitor_email, name=conversation.visitor_name),
            messages=(
                NormalizedMessage(
                    external_id=f"chat-message:{message.pk}", body=message.body, author_label=conversation.visitor_label
                ),
            ),
            tags=(conversation.surface,),
        ),
    )
    if conversation.ticket_id != result.ticket.pk:
        conversation.ticket_id = result.ticket.pk
        conversation.save(update_fields=["ticket_id"])
    if result.created:
        services.post_note(conversation=conversation, body=OPENED_REPLY)
    return result.ticket


class ChatThreadAdapter(SourceAdapter):
    """The sink of tickets opened from a Slack/Teams thread: a public reply is posted in that thread through the
    surface's ``Outbound`` and recorded in the conversation. ``tickets.deliver_message`` claims the message once."""

    kind: ClassVar[str] = SourceKind.CHAT
    label: ClassVar[str] = "Chat surface (Slack, Teams)"
    can_poll: ClassVar[bool] = False
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply"})

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)

    def post_reply(self, message: OutboundMessage) -> Delivered:
        conversation_id = message.ticket_external_id.removeprefix(TICKET_PREFIX)
        conversation = Conversation.objects.select_related("install").filter(pk=conversation_id).first()
        if conversation is None:
            raise SourceError(f"The conversation of ticket {message.ticket_external_id} is gone.")
        try:
            outbound = outbound_for(conversation.install)
            with transaction.atomic():
                chat_message = ChatMessage.objects.create(
                    conversation=conversation,
                    role=Role.GABY if message.author_label in ("", "Gaby") else Role.OPERATOR,
                    author_label=message.author_label or conversation.persona_name,
                    body=message.body,
                )
                ref = outbound.post(conversation, message.body)
                chat_message.external_ref = ref
                chat_message.save(update_fields=["external_ref"])
                services.announce_message(conversation, chat_message)
        except TransientSurfaceError as exc:
            raise TransientSourceError(str(exc), retry_after=exc.retry_after) from exc
        except SurfaceError as exc:
            raise SourceError(str(exc)) from exc
        return Delivered(external_id=ref)
