"""Domain operations on chat conversations: every write of the widget's consumer and the operator console.

Each verb runs in one transaction; live events (to the conversation's sockets and the console list)
leave with ``transaction.on_commit`` so nothing is announced for a write that rolled back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.chat import live
from apps.chat.models import (
    ChatMessage,
    Conversation,
    ConversationState,
    ReviewState,
    Role,
    Surface,
    SurfacePost,
    Widget,
)
from apps.chat.presence import operators_online
from apps.chat.widgets import Identity, is_open
from apps.core.tasks import enqueue
from apps.knowledge.candidates import propose_candidate
from apps.knowledge.models import CandidateOrigin, KBCandidate
from apps.tickets.models import SourceKind, Ticket, TicketSource
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.services import ingest_ticket
from tenants.models import Client

CHAT_SOURCE_NAME = "Chat widget"
MAX_EMAIL_CHARS = 254  # RFC 5321's path limit, and Contact.email's length
MAX_NAME_CHARS = 200  # Contact.name and Conversation.visitor_name
POOR_RATING = 2  # ratings at or below it put the conversation in the review queue (SUP-9)
_ASKS_FOR_PERSON = re.compile(
    r"\b(human|person|real people|someone real|agent|operator|representative|talk to (?:someone|support))\b", re.I
)


class ChatError(ValueError):
    """The request cannot be done as asked; the message says why, for the visitor or the operator."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


token_hash = _hash  # a conversation's resume_hash, for the surfaces that create conversations (apps/chat/surfaces)


def announce_new(conversation: Conversation) -> None:
    """A conversation created elsewhere (a Slack/Teams thread) appears on the consoles once its transaction commits."""
    _announce(conversation, created=True)


def asks_for_person(text: str) -> bool:
    return bool(_ASKS_FOR_PERSON.search(text))


def _audit(event: str, actor: Any, **payload: Any) -> None:
    user_id = getattr(actor, "pk", None)
    record(
        event=event, actor_kind=ActorKind.USER if user_id else ActorKind.SYSTEM, actor_id=user_id or "", payload=payload
    )


def _touch(conversation: Conversation, *fields: str) -> None:
    conversation.last_message_at = timezone.now()
    conversation.save(update_fields=["last_message_at", *fields])


def _announce(conversation: Conversation, *payloads: dict[str, Any], created: bool = False) -> None:
    conversation_id = conversation.pk

    def send() -> None:
        for payload in payloads:
            live.send(conversation_id, payload)
        live.announce_row(conversation_id, created=created)

    transaction.on_commit(send)


def _relay(conversation: Conversation, message: ChatMessage, *, handoff: bool = False) -> None:
    """On a Slack/Teams conversation, the message is also posted in the platform's thread: a ``SurfacePost`` row
    delivered once by a retried task after the commit (the widget's sockets get it from ``_announce``). ``handoff``
    marks the notice that a person has, or is asked for, the conversation."""
    if conversation.surface == Surface.WIDGET:
        return
    post = SurfacePost.objects.create(message=message, handoff=handoff)
    transaction.on_commit(lambda: enqueue("chat.deliver_surface_post", str(post.pk), task_id=f"chat-post-{post.pk}"))


def post_note(*, conversation: Conversation, body: str) -> ChatMessage:
    """A note of Gaby's that is not an answer (a ticket was opened): stored, shown, and posted in the thread."""
    with transaction.atomic():
        note = ChatMessage.objects.create(
            conversation=conversation, role=Role.SYSTEM, author_label=conversation.persona_name, body=body
        )
        _relay(conversation, note)
        _touch(conversation)
        _announce(conversation, live.message_payload(note))
    return note


def announce_message(conversation: Conversation, message: ChatMessage) -> None:
    """A message stored elsewhere (a ticket's reply delivered to a thread) reaches the console and the inbox."""
    _touch(conversation)
    _announce(conversation, live.message_payload(message))


# --- the visitor's side ----------------------------------------------------------------------------
def start_conversation(*, widget: Widget, identity: Identity, origin: str) -> tuple[Conversation, str]:
    """A new conversation and the secret the visitor's browser keeps to resume it."""
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        conversation = Conversation.objects.create(
            widget=widget,
            resume_hash=_hash(token),
            visitor_id=identity.user_id,
            visitor_email=identity.email,
            visitor_name=identity.name,
            identity_verified=identity.verified,
            origin=origin[:300],
        )
        _announce(conversation, created=True)
    return conversation, token


def resume_conversation(*, widget: Widget, token: str, identity: Identity) -> Conversation | None:
    """The open conversation this browser started with this widget (and, when signed, as this visitor)."""
    if not token or len(token) > 100:
        return None
    conversation = Conversation.objects.filter(resume_hash=_hash(token), widget=widget).first()
    if conversation is None or conversation.state == ConversationState.CLOSED:
        return None
    if conversation.identity_verified and conversation.visitor_id != identity.user_id:
        return None  # another signed-in person on the same browser starts afresh
    return conversation


def history(conversation: Conversation, *, limit: int = 200) -> list[dict[str, Any]]:
    messages = list(ChatMessage.objects.filter(conversation=conversation).order_by("-created_at", "-id")[:limit])
    return [live.message_payload(m) for m in reversed(messages)]


def post_visitor_message(*, conversation: Conversation, body: str) -> ChatMessage:
    body = body.strip()
    if not body:
        raise ChatError("Type a message first.")
    if len(body) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ChatError(f"Keep messages under {settings.CHAT_MAX_MESSAGE_CHARS} characters.")
    if conversation.state == ConversationState.CLOSED:
        raise ChatError("This conversation is closed; reload to start a new one.")
    with transaction.atomic():
        # As it is now, locked: the idle sweep (close_idle) may have closed it since the socket read it.
        conversation.state = (
            Conversation.objects.select_for_update().values_list("state", flat=True).get(pk=conversation.pk)
        )
        if conversation.state == ConversationState.CLOSED:
            raise ChatError("This conversation is closed; reload to start a new one.")
        message = ChatMessage.objects.create(
            conversation=conversation, role=Role.VISITOR, author_label=conversation.visitor_label, body=body
        )
        _touch(conversation)
        _announce(conversation, live.message_payload(message))
    return message


def post_gaby_message(
    *,
    conversation: Conversation,
    body: str,
    citations: list[dict[str, Any]] | None = None,
    confidence: float | None = None,
    mode: str = "",
    stream: str = "",
    offer: str = "",
) -> ChatMessage:
    with transaction.atomic():
        message = ChatMessage.objects.create(
            conversation=conversation,
            role=Role.GABY,
            author_label=conversation.persona_name,
            body=body,
            citations=citations or [],
            confidence=confidence,
            answer_mode=mode,
        )
        _touch(conversation)
        _announce(conversation, live.message_payload(message, stream=stream, offer=offer))
    return message


def conversation_for_gaby(conversation_id: UUID) -> Conversation | None:
    """The conversation with its widget while Gaby may answer it (read fresh: an operator may just have taken over)."""
    return (
        Conversation.objects.select_related("widget", "install")
        .filter(pk=conversation_id, state=ConversationState.BOT)
        .first()
    )


# --- handoff (§8.1) ---------------------------------------------------------------------------------
def request_handoff(*, client: Client, conversation: Conversation, reason: str) -> bool:
    """Ask for a person. True when one can come (open hours, someone online); otherwise Gaby offers a ticket.

    Either way the team hears of it: a notice on every open page of the client's shell, and, when nobody
    can come, one email per conversation to the client's escalation recipients (``notify_handoff``).
    """
    persona = conversation.persona_name
    if conversation.state in (ConversationState.WAITING, ConversationState.HUMAN):
        return True
    hours_open = conversation.widget is None or is_open(conversation.widget, client, timezone.now())
    available = hours_open and operators_online() > 0
    with transaction.atomic():
        first_ask = conversation.handoff_requested_at is None
        conversation.handoff_requested_at = timezone.now()
        if available:
            conversation.state = ConversationState.WAITING
            text = "I've asked a person from the team to join. They can see our whole conversation."
        elif conversation.surface != Surface.WIDGET:  # the platform's user is known: no email to ask for
            text = "Nobody from the team is available right now; I've let them know and someone will reply here."
        else:
            text = (
                "Nobody from the team is available right now. Leave your email and I'll open a ticket: "
                "someone will get back to you."
            )
        _touch(conversation, "state", "handoff_requested_at")
        note = ChatMessage.objects.create(conversation=conversation, role=Role.SYSTEM, author_label=persona, body=text)
        _relay(conversation, note, handoff=True)
        payloads: list[dict[str, Any]] = [live.message_payload(note, offer="" if available else "ticket")]
        if available:
            payloads.append({"type": "state", "state": conversation.state, "reason": reason})
        _announce(conversation, *payloads)
        _notify_team(conversation, reason=reason, email=first_ask and not available)
    return available


def _notify_team(conversation: Conversation, *, reason: str, email: bool) -> None:
    conversation_id = conversation.pk

    def send() -> None:
        live.announce_handoff(conversation_id, reason=reason)
        if email:
            enqueue("chat.notify_handoff", str(conversation_id), task_id=f"chat-handoff-mail-{conversation_id}")

    transaction.on_commit(send)


def _chat_source() -> TicketSource:
    """The inbox source chat tickets come from (a webhook-kind source with no secret: nothing else can post to it)."""
    source = TicketSource.objects.filter(kind=SourceKind.WEBHOOK, name=CHAT_SOURCE_NAME).first()
    return source or TicketSource.objects.create(kind=SourceKind.WEBHOOK, name=CHAT_SOURCE_NAME)


def transcript_text(conversation: Conversation) -> str:
    ordered = conversation.messages.order_by("created_at", "id")
    lines = [f"{m.author_label or m.get_role_display()}: {m.body}" for m in ordered]
    return "\n\n".join(lines)


def _address_verdict(conversation: Conversation, email: str) -> str:
    """Whether the address a visitor leaves is theirs: only the widget's signed identity says so. Typed by an anonymous
    visitor (or differing from the signed one), it is a claim, and the ticket never acts on that account unchecked."""
    signed = conversation.identity_verified and conversation.visitor_email.strip().lower() == email
    return "identity=signed" if signed else "identity=unverified"


def create_ticket(*, conversation: Conversation, email: str, name: str = "") -> Ticket:
    """The conversation becomes an inbox ticket that carries the whole transcript; the visitor is told."""
    email, name = email.strip().lower(), name.strip()
    # Bounded here, by what they are stored in (Contact.email, Contact.name): the frame is bounded as a whole only.
    if len(email) > MAX_EMAIL_CHARS:
        raise ChatError(f"That email address is too long: use one of at most {MAX_EMAIL_CHARS} characters.")
    if len(name) > MAX_NAME_CHARS:
        raise ChatError(f"That name is too long: shorten it to at most {MAX_NAME_CHARS} characters.")
    try:
        validate_email(email)
    except ValidationError:
        raise ChatError("That doesn't look like an email address: check it and send it again.") from None
    if conversation.ticket_id is not None:
        raise ChatError("A ticket already exists for this conversation.")
    first = conversation.messages.filter(role=Role.VISITOR).order_by("created_at").first()
    title = (first.body if first else "Chat conversation")[:120]
    with transaction.atomic():
        result = ingest_ticket(
            source=_chat_source(),
            normalized=NormalizedTicket(
                external_id=f"chat:{conversation.pk}",
                title=title,
                body=transcript_text(conversation),
                contact=NormalizedContact(
                    email=email,
                    name=name or conversation.visitor_name,
                    authentication=_address_verdict(conversation, email),
                ),
                messages=(
                    NormalizedMessage(
                        external_id=f"chat:{conversation.pk}:transcript",
                        body=transcript_text(conversation),
                        author_label=email,
                    ),
                ),
                tags=("chat",),
            ),
        )
        conversation.ticket_id = result.ticket.pk
        conversation.visitor_email = conversation.visitor_email or email
        _touch(conversation, "ticket_id", "visitor_email")
        note = ChatMessage.objects.create(
            conversation=conversation,
            role=Role.SYSTEM,
            author_label=conversation.persona_name,
            body=f"Thanks! Ticket created: we'll reply to {email}.",
        )
        _announce(conversation, live.message_payload(note))
    return result.ticket


# --- the operator's side (§8.3) ---------------------------------------------------------------------
def take_over(*, conversation: Conversation, user: Any) -> None:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.state == ConversationState.CLOSED:
            raise ChatError("This conversation is closed.")
        conversation.state = ConversationState.HUMAN
        conversation.operator_id = user.pk
        conversation.operator_name = user.display_name
        _touch(conversation, "state", "operator_id", "operator_name")
        note = ChatMessage.objects.create(
            conversation=conversation, role=Role.SYSTEM, author_label="", body=f"{user.display_name} joined the chat."
        )
        _relay(conversation, note, handoff=True)
        _audit("chat.taken_over", user, conversation=conversation.pk)
        _announce(
            conversation,
            {"type": "state", "state": conversation.state, "operator": user.display_name},
            live.message_payload(note),
        )


def hand_back(*, conversation: Conversation, user: Any) -> None:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.state != ConversationState.HUMAN:
            raise ChatError("Gaby already has this conversation.")
        conversation.state = ConversationState.BOT
        conversation.operator_id = None
        conversation.operator_name = ""
        _touch(conversation, "state", "operator_id", "operator_name")
        note = ChatMessage.objects.create(
            conversation=conversation,
            role=Role.SYSTEM,
            author_label="",
            body=f"{user.display_name} handed the chat back to {conversation.persona_name}.",
        )
        _relay(conversation, note)
        _audit("chat.handed_back", user, conversation=conversation.pk)
        _announce(conversation, {"type": "state", "state": conversation.state}, live.message_payload(note))


def operator_reply(*, conversation: Conversation, user: Any, body: str) -> ChatMessage:
    body = body.strip()
    if not body:
        raise ChatError("Write a reply first.")
    if conversation.state != ConversationState.HUMAN or conversation.operator_id != user.pk:
        raise ChatError("Take over the conversation before replying.")
    with transaction.atomic():
        message = ChatMessage.objects.create(
            conversation=conversation, role=Role.OPERATOR, author_label=user.display_name, body=body
        )
        _relay(conversation, message)
        _touch(conversation)
        _announce(conversation, live.message_payload(message))
    return message


def propose_correction(*, conversation: Conversation, message: ChatMessage, user: Any, text: str) -> KBCandidate:
    """'The right answer was X': a KB candidate a person reviews before Gaby ever cites it."""
    question = (
        conversation.messages.filter(role=Role.VISITOR, created_at__lte=message.created_at)
        .order_by("-created_at")
        .first()
    )
    title = (question.body if question else message.body)[:280]
    with transaction.atomic():
        candidate = propose_candidate(
            title=title,
            body=text,
            origin_kind=CandidateOrigin.CORRECTION,
            origin_ref=f"chat:{conversation.pk}:{message.pk}",
            origin_url=f"/chat/c/{conversation.pk}/",
        )
        _audit(
            "chat.correction_proposed", user, conversation=conversation.pk, message=message.pk, candidate=candidate.pk
        )
    return candidate


# --- the end: CSAT (SUP-9) --------------------------------------------------------------------------
def close(*, conversation: Conversation, actor: Any = None) -> None:
    with transaction.atomic():
        conversation.state = ConversationState.CLOSED
        _touch(conversation, "state")
        _announce(conversation, {"type": "state", "state": conversation.state}, {"type": "offer", "offer": "csat"})


def close_idle(*, older_than: timedelta) -> int:
    """Close the conversations Gaby was answering whose visitor said nothing for ``older_than``: a visitor who left
    does not keep a chat "answering" forever. A conversation a person has or is coming to stays open for them."""
    cutoff = timezone.now() - older_than
    closed = 0
    for pk in Conversation.objects.filter(state=ConversationState.BOT, last_message_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=ConversationState.BOT, last_message_at__lt=cutoff)
                .first()
            )
            if conversation is None:
                continue  # a message arrived meanwhile, or another sweep has it
            idle_minutes = int(older_than.total_seconds() // 60)
            note = ChatMessage.objects.create(
                conversation=conversation,
                role=Role.SYSTEM,
                body=f"Closed after {idle_minutes} minutes without a message.",
            )
            conversation.state = ConversationState.CLOSED
            conversation.save(update_fields=["state"])
            _announce(conversation, live.message_payload(note), {"type": "state", "state": conversation.state})
            closed += 1
    return closed


def rate(*, conversation: Conversation, rating: int, comment: str = "") -> None:
    if not 1 <= rating <= 5:
        raise ChatError("Rate from 1 (poor) to 5 (great).")
    with transaction.atomic():
        conversation.csat_rating = rating
        conversation.csat_comment = comment.strip()[:2000]
        if rating <= POOR_RATING:
            conversation.review_state = ReviewState.QUEUED
        conversation.save(update_fields=["csat_rating", "csat_comment", "review_state"])
        _announce(conversation, {"type": "rated", "rating": rating})


def mark_reviewed(*, conversation: Conversation, user: Any) -> None:
    with transaction.atomic():
        conversation.review_state = ReviewState.REVIEWED
        conversation.save(update_fields=["review_state"])
        _audit("chat.reviewed", user, conversation=conversation.pk, rating=conversation.csat_rating)
