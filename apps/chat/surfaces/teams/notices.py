"""Approval cards in Teams: when an action waits for approval, each of the client's approvers who has a personal
chat with the bot gets the card there (Approve / Reject / a note) — the people the Approvals page would accept, no
configuration. The click comes back as a card submit and is decided in ``approvals.decide``.

A receiver on ``ToolAction`` saves queues ``chat.teams_approval_cards`` after the commit (the gate creates the action
awaiting approval in one save); the task, in the client's schema, posts each card once per action and approver
(a ``ChatMessage`` note in that conversation records it, so a retried task skips who already has it).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from microsoft_agents.activity import Activity, Attachment

from apps.accounts.models import Membership, Role
from apps.chat.models import ChatMessage, Conversation
from apps.chat.models import Role as ChatRole
from apps.chat.surfaces.outbound import SurfaceError, TransientSurfaceError
from apps.chat.surfaces.teams import approvals, cards
from apps.chat.surfaces.teams.outbound import send_activity
from apps.core.retry import task_countdown
from apps.core.tasks import enqueue
from apps.safety.client_settings import admin_approval_risk
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.notify import compose

PERSONAL_PREFIX = "a:"  # Teams' personal (1:1) conversation ids
MARK = "Approval card sent for action {}"


def approver_emails(action: ToolAction) -> set[str]:
    from django.db import connection

    client = connection.tenant  # type: ignore[attr-defined]
    needed = Role.ADMIN if action.risk >= admin_approval_risk() else Role.AGENT
    members = Membership.objects.filter(client=client, user__is_active=True).select_related("user")
    return {m.user.email.lower() for m in members if m.allows(needed)}


def _approver_chats(action: ToolAction) -> list[Conversation]:
    chats = Conversation.objects.filter(
        surface="teams", external_key__startswith=PERSONAL_PREFIX, visitor_email__in=approver_emails(action)
    ).order_by("visitor_email", "-last_message_at")
    latest: dict[str, Conversation] = {}
    for chat in chats:
        latest.setdefault(chat.visitor_email, chat)
    return list(latest.values())


@shared_task(name="chat.teams_approval_cards", bind=True, max_retries=5)
def send_approval_cards(self: Task, action_id: str) -> int:
    action = ToolAction.objects.select_related("connector").filter(pk=action_id).first()
    if action is None or action.status != ActionStatus.AWAITING_APPROVAL or not settings.TEAMS_APP_ID:
        return 0
    card = Attachment.model_validate(cards.attachment(approvals.card_for(action)))
    sent, mark = 0, MARK.format(action.pk)
    for chat in _approver_chats(action):
        if ChatMessage.objects.filter(conversation=chat, role=ChatRole.SYSTEM, body=mark).exists():
            continue
        activity = Activity(type="message", text=compose.headline(action), attachments=[card])
        try:
            async_to_sync(send_activity)(chat.external_key, activity)
        except TransientSurfaceError as exc:
            raise self.retry(
                exc=exc, countdown=exc.retry_after or task_countdown(self.request.retries, base=2, cap=120)
            ) from exc
        except SurfaceError:
            continue  # that chat is gone (the app was removed): the others still get theirs
        ChatMessage.objects.create(conversation=chat, role=ChatRole.SYSTEM, author_label="", body=mark)
        sent += 1
    return sent


def _on_action_saved(sender: Any, instance: ToolAction, created: bool, **_: Any) -> None:
    if created and instance.status == ActionStatus.AWAITING_APPROVAL and settings.TEAMS_APP_ID:
        action_id = str(instance.pk)
        transaction.on_commit(lambda: enqueue("chat.teams_approval_cards", action_id))


post_save.connect(_on_action_saved, sender=ToolAction, dispatch_uid="teams-approval-cards")
