"""Celery tasks of the chat: the handoff email sent when a visitor asks for a person and nobody can come.

Sent inside a client's schema, the task runs there (tenant-schemas-celery). It takes the conversation's
id, re-reads it and exits quietly when it is gone or a person has already taken it.
"""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.urls import reverse
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.agent.escalation_notices import escalation_recipients
from apps.agent.runtime import settings_for
from apps.agent.summary import admin_emails
from apps.chat.models import Conversation, ConversationState, Surface
from apps.chat.services import close_idle, transcript_text
from apps.core.retry import task_countdown
from apps.safety.notify.links import absolute_url
from tenants.models import Client

MAX_TRANSCRIPT_CHARS = 6000


def handoff_recipients(client: Client) -> list[str]:
    """Who hears of a handoff nobody could take: whoever escalated tickets go to, else the client's Admins (the
    people the nightly summary goes to when nobody was named)."""
    return escalation_recipients(settings_for()) or admin_emails(client)


def _promised(conversation: Conversation) -> str:
    if conversation.surface == Surface.WIDGET:
        return "offered to open a ticket."
    return f"told them someone will reply in the {conversation.get_surface_display()} thread."


@shared_task(name="chat.notify_handoff", bind=True, max_retries=5)
def notify_handoff(self: Task, conversation_id: str) -> str:
    conversation = Conversation.objects.select_related("widget", "install").filter(pk=conversation_id).first()
    if conversation is None:
        return "gone"
    if conversation.state == ConversationState.HUMAN:
        return "taken"
    client = connection.tenant  # type: ignore[attr-defined]
    recipients = handoff_recipients(client)
    if not recipients:
        return "no-recipient"
    link = absolute_url(client, reverse("chat:conversation", args=[conversation.pk]))
    transcript = transcript_text(conversation)
    if len(transcript) > MAX_TRANSCRIPT_CHARS:
        transcript = "…\n\n" + transcript[-MAX_TRANSCRIPT_CHARS:]
    body = (
        f"{conversation.visitor_label} asked for a person on {conversation.get_surface_display()} "
        f'"{conversation.channel_label}" and nobody from the team was online. '
        f"{conversation.persona_name} {_promised(conversation)}\n\n"
        f"Open the conversation: {link}\n\n"
        f"Transcript so far:\n\n{transcript}\n"
    )
    subject = f"[Gaby] {conversation.visitor_label} asks for a person ({client.name})"
    try:
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=task_countdown(self.request.retries, base=10, cap=600)) from exc
    return "sent"


@shared_task(name="chat.close_idle_conversations")
def close_idle_conversations() -> int:
    """Beat entry: in every active client, close the chats Gaby was answering whose visitor went quiet."""
    idle = timedelta(minutes=settings.CHAT_IDLE_CLOSE_MINUTES)
    closed = 0
    for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
        with tenant_context(client):
            closed += close_idle(older_than=idle)
    return closed


# The surfaces' tasks (Slack, Teams) live beside their code; importing them here registers them with Celery.
from apps.chat.surfaces import tasks as surface_tasks  # noqa: E402, F401
from apps.chat.surfaces.slack import tasks as slack_tasks  # noqa: E402, F401
