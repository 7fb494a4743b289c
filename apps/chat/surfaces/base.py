"""What every chat surface shares: the inbound message, the outbound poster, and ``receive``.

A platform adapter (``slack/``, ``teams/``) verifies the platform's request, resolves the workspace to its client
(``routing``), builds an ``Inbound`` with the platform-verified user and calls ``receive`` inside that client's schema.
``receive`` refuses what the install does not allow, claims the delivery (a retried event is refused by the database,
not by a read), finds or creates the conversation of the thread with the user as its verified requester, posts the
message through ``services.post_visitor_message`` and queues the answer (``chat.answer_surface``). Nothing here waits
for the answer: the platform gets its acknowledgement at once.

Requests for an action (the triage's request and incident kinds) are not answered from knowledge: they become a ticket
with the platform user as its requester (``tickets``), which the investigation engine works; its replies reach the
thread through the ticket's ``chat`` sink.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.chat import services
from apps.chat.models import (
    ChatMessage,
    ChatSurfaceInstall,
    Conversation,
    ConversationState,
    DeliveryState,
    SurfaceDelivery,
)
from apps.chat.surfaces import action_requests
from apps.chat.surfaces.outbound import (  # re-exported: the surfaces' one interface is this module
    Action,
    Handoff,
    Outbound,
    OutboundFactory,
    SurfaceError,
    TransientSurfaceError,
    outbound_for,
    register_outbound,
)
from apps.chat.surfaces.routing import current_client
from apps.core.tasks import enqueue

log = logging.getLogger(__name__)
__all__ = [
    "Action",
    "Handoff",
    "Inbound",
    "Outbound",
    "OutboundFactory",
    "Received",
    "SurfaceError",
    "TransientSurfaceError",
    "outbound_for",
    "receive",
    "register_outbound",
]


@dataclass(frozen=True)
class Inbound:
    """One message a platform delivered, as its adapter verified it."""

    surface: str  # slack | teams
    workspace_id: str  # Slack team id, Entra tenant id
    conversation_key: str  # the thread: Slack "T…:C…:thread_ts", a Teams conversation id
    delivery_id: str  # the platform's id of this delivery (Slack event_id, Teams activity id): retries repeat it
    user_id: str
    user_email: str  # the platform-verified email ("" when the platform has none: refused)
    user_name: str
    text: str
    is_direct: bool  # a direct message (always heard) rather than a mention in a channel
    channel_id: str = ""


@dataclass(frozen=True)
class Received:
    """What ``receive`` did: ``queued`` (an answer is coming), ``ticket`` (a request became a ticket), ``quiet``
    (a person has the conversation, or was asked for), ``duplicate`` (a retry) or ``refused`` (``reason`` says why;
    ``reply`` is what to tell the user, if anything)."""

    outcome: str
    reason: str = ""
    reply: str = ""
    conversation_id: str = ""
    delivery_id: str = ""


NO_EMAIL_REPLY = (
    "Sorry, I can only help people whose account shows a verified email address. "
    "Ask your workspace admin to check your profile, or contact the support team directly."
)
NOT_ALLOWED_REPLY = "Sorry, I'm not set up to help your account here. Please contact the support team directly."
OTHER_USER_REPLY = "This thread is someone else's request: mention me in a new message so I can help you."


def _refuse(inbound: Inbound, reason: str, reply: str = "") -> Received:
    log.info(
        "chat surface refused a message",
        extra={
            "surface": inbound.surface,
            "workspace": inbound.workspace_id,
            "user": inbound.user_id,
            "reason": reason,
        },
    )
    return Received("refused", reason=reason, reply=reply)


def installed(surface: str, workspace_id: str) -> ChatSurfaceInstall | None:
    return ChatSurfaceInstall.objects.filter(kind=surface, workspace_id=workspace_id, enabled=True).first()


def receive(inbound: Inbound, *, queue_answer: bool = True) -> Received:
    """Take one platform message, inside its client's schema (see the module's docstring). A caller that is itself a
    worker task passes ``queue_answer=False`` and answers the ``queued`` delivery in place (``answer.answer``)."""
    install = installed(inbound.surface, inbound.workspace_id)
    if install is None:
        return _refuse(inbound, "not installed or disabled for this client")
    if not inbound.user_email:
        return _refuse(inbound, "the platform gives no verified email for this user", NO_EMAIL_REPLY)
    if not install.allows_email(inbound.user_email):
        return _refuse(inbound, f"{inbound.user_email} is not on the install's allow list", NOT_ALLOWED_REPLY)
    if not inbound.is_direct and not install.listens_to(inbound.channel_id):
        return _refuse(inbound, f"channel {inbound.channel_id} is not one Gaby listens to")
    try:
        with transaction.atomic():
            return _take(install, inbound, queue_answer=queue_answer)
    except _Duplicate:
        log.info("chat surface retry ignored", extra={"surface": inbound.surface, "delivery": inbound.delivery_id})
        return Received("duplicate", reason="this delivery was already received")
    except _OtherUser:
        return _refuse(inbound, "a thread belongs to the user who started it", OTHER_USER_REPLY)


class _Duplicate(Exception):
    pass


class _OtherUser(Exception):
    pass


def _claim(inbound: Inbound) -> SurfaceDelivery:
    try:
        with transaction.atomic():  # a savepoint: the unique key refuses a retried delivery
            return SurfaceDelivery.objects.create(surface=inbound.surface, delivery_id=inbound.delivery_id[:200])
    except IntegrityError:
        raise _Duplicate from None


def thread_conversation(install: ChatSurfaceInstall, inbound: Inbound) -> Conversation:
    """The conversation of the inbound's thread, created with the user as its verified requester (a closed one
    reopens: the thread goes on)."""
    defaults = {
        "install": install,
        "resume_hash": services.token_hash(secrets.token_urlsafe(24)),  # nobody resumes a platform thread by token
        "visitor_id": inbound.user_id[:200],
        "visitor_email": inbound.user_email.strip().lower(),
        "visitor_name": inbound.user_name[:200],
        "identity_verified": True,
        "origin": f"{inbound.surface}:{inbound.channel_id}"[:300],
    }
    key = inbound.conversation_key[:300]
    try:
        with transaction.atomic():
            conversation, created = Conversation.objects.select_for_update().get_or_create(
                surface=inbound.surface, external_key=key, defaults=defaults
            )
    except IntegrityError:  # the same thread's first two messages at once: the other one created it
        conversation, created = (
            Conversation.objects.select_for_update().get(surface=inbound.surface, external_key=key),
            False,
        )
    if not created and conversation.visitor_id != inbound.user_id:
        raise _OtherUser
    if conversation.state == ConversationState.CLOSED:
        conversation.state = ConversationState.BOT
        conversation.save(update_fields=["state"])
    if created:
        services.announce_new(conversation)
    return conversation


def _take(install: ChatSurfaceInstall, inbound: Inbound, *, queue_answer: bool) -> Received:
    delivery = _claim(inbound)
    conversation = thread_conversation(install, inbound)
    message = services.post_visitor_message(conversation=conversation, body=inbound.text)
    delivery.conversation, delivery.message = conversation, message
    outcome = _route(install, conversation, message)
    delivery.state = DeliveryState.QUEUED if outcome == "queued" else DeliveryState.SKIPPED
    delivery.save(update_fields=["conversation", "message", "state"])
    if outcome == "queued" and queue_answer:
        pk = str(delivery.pk)
        transaction.on_commit(lambda: enqueue("chat.answer_surface", pk, task_id=f"chat-answer-{pk}"))
    return Received(outcome, conversation_id=str(conversation.pk), delivery_id=str(delivery.pk))


def _route(install: ChatSurfaceInstall, conversation: Conversation, message: ChatMessage) -> str:
    client = current_client()
    if conversation.state != ConversationState.BOT:
        return "quiet"  # a person has it (or is coming): Gaby stays quiet, the console shows the message
    if services.asks_for_person(message.body):
        services.request_handoff(client=client, conversation=conversation, reason="asked")
        return "quiet"
    if conversation.ticket_id is not None or action_requests.is_action_request(message.body):
        action_requests.open_ticket(conversation=conversation, message=message)  # the thread's ticket goes on
        return "ticket"
    return "queued"


def thread_text(message: ChatMessage) -> str:
    """How a console message reads in the thread: an operator's reply says who wrote it."""
    if message.role == "operator" and message.author_label:
        return f"*{message.author_label}*: {message.body}"
    return message.body
