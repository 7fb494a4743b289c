"""Celery tasks of the chat surfaces (imported by apps/chat/tasks.py so autodiscovery registers them).

Both take ids and run inside the client's schema (tenant-schemas-celery); both claim their row with a conditional
UPDATE, so a retried or duplicated task never posts twice; platform hiccups (429 with Retry-After, 5xx, timeouts)
are retried with backoff.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.chat.models import ChatMessage, Conversation, ConversationState, OutboundState, SurfacePost
from apps.chat.surfaces import answer
from apps.chat.surfaces.base import SurfaceError, TransientSurfaceError, outbound_for, thread_text
from apps.chat.surfaces.outbound import Handoff
from apps.core.retry import task_countdown
from apps.tickets.models import Ticket

MAX_RETRIES = 6


@shared_task(name="chat.answer_surface", bind=True, max_retries=MAX_RETRIES)
def answer_surface(self: Task, delivery_id: str) -> str:
    try:
        return answer.answer(delivery_id)
    except TransientSurfaceError as exc:
        countdown = exc.retry_after or task_countdown(self.request.retries, base=2, cap=120)
        raise self.retry(exc=exc, countdown=countdown) from exc


def handoff_of(conversation: Conversation) -> Handoff:
    """Who answers the conversation now (its operator once one joined) and the ticket opened for it, if any."""
    who = conversation.operator_name if conversation.state == ConversationState.HUMAN else ""
    ticket = ""
    if conversation.ticket_id is not None:
        ticket = Ticket.objects.filter(pk=conversation.ticket_id).values_list("title", flat=True).first() or ""
    return Handoff(who=who, ticket=ticket)


@shared_task(name="chat.deliver_surface_post", bind=True, max_retries=MAX_RETRIES)
def deliver_surface_post(self: Task, post_id: str) -> str:
    """Post one operator reply or note in its thread, once."""
    claimed = SurfacePost.objects.filter(pk=post_id, state=OutboundState.QUEUED).update(
        state=OutboundState.SENDING, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return "not-queued"
    post = SurfacePost.objects.select_related("message__conversation__install").get(pk=post_id)
    message: ChatMessage = post.message
    handoff = handoff_of(message.conversation) if post.handoff else None
    try:
        outbound = outbound_for(message.conversation.install)
        ref = outbound.post(message.conversation, thread_text(message), handoff=handoff)
    except TransientSurfaceError as exc:
        last = self.request.retries >= MAX_RETRIES
        state = OutboundState.FAILED if last else OutboundState.QUEUED
        SurfacePost.objects.filter(pk=post_id).update(state=state, error=str(exc)[:2000])
        if last:
            return "failed"
        countdown = exc.retry_after or task_countdown(self.request.retries, base=2, cap=300)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except SurfaceError as exc:
        SurfacePost.objects.filter(pk=post_id).update(state=OutboundState.FAILED, error=str(exc)[:2000])
        return "failed"
    with transaction.atomic():
        SurfacePost.objects.filter(pk=post_id).update(state=OutboundState.SENT, sent_at=timezone.now(), error="")
        ChatMessage.objects.filter(pk=message.pk).update(external_ref=ref[:200])
    return "sent"


@shared_task(name="chat.escalation_dm", bind=True, max_retries=MAX_RETRIES)
def escalation_dm(self: Task, investigation_id: str) -> str:
    """FND-7: the escalation as a Slack DM to the founder / on-call person (apps/chat/surfaces/slack/notices.py)."""
    from apps.chat.surfaces.slack.notices import escalation_dm as send

    try:
        return send(investigation_id)
    except TransientSurfaceError as exc:
        raise self.retry(exc=exc, countdown=task_countdown(self.request.retries, base=5, cap=600)) from exc
