"""Approval cards in Teams: when an action waits for approval, each of the client's approvers who has a personal
chat with the bot gets the card there (Approve / Reject / a note) — the people the Approvals page would accept, no
configuration. The click comes back as a card submit and is decided in ``approvals.decide``.

``wiring.py`` queues ``chat.teams_approval_cards`` after the commit of a new action awaiting approval (the gate
creates it in one save); the task runs ``send_approval_cards`` in the client's schema, which posts each card once per
action and approver (a ``ChatMessage`` note in that conversation records it, so a retried task skips who already has
it).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from microsoft_agents.activity import Activity, Attachment

from apps.accounts.models import Membership, Role
from apps.chat.models import ChatMessage, Conversation
from apps.chat.models import Role as ChatRole
from apps.chat.surfaces.outbound import SurfaceError, TransientSurfaceError
from apps.chat.surfaces.teams import approvals, cards
from apps.chat.surfaces.teams.outbound import send_activity
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


def send_approval_cards(action_id: str) -> int:
    """Post the card to each approver's chat that has not had it; ``TransientSurfaceError`` for the task to retry."""
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
        except TransientSurfaceError:
            raise
        except SurfaceError:
            continue  # that chat is gone (the app was removed): the others still get theirs
        ChatMessage.objects.create(conversation=chat, role=ChatRole.SYSTEM, author_label="", body=mark)
        sent += 1
    return sent
