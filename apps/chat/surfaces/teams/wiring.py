"""Teams joins the chat app when it is ready (``ChatConfig.ready``): its Outbound, the approval-card trigger and task.

Light on purpose: every process (web, workers, beat, the CLI) imports this at start-up, and the Microsoft 365 Agents
SDK costs about a second to import; it is imported on the first Teams post, card or request instead.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save

from apps.chat.models import ChatSurfaceInstall
from apps.chat.surfaces.outbound import Outbound, TransientSurfaceError, register_outbound
from apps.core.retry import task_countdown
from apps.core.tasks import enqueue
from apps.safety.models import ActionStatus, ToolAction


def teams_outbound(install: ChatSurfaceInstall) -> Outbound:
    from apps.chat.surfaces.teams.outbound import TeamsOutbound

    return TeamsOutbound(install)


@shared_task(name="chat.teams_approval_cards", bind=True, max_retries=5)
def teams_approval_cards(self: Task, action_id: str) -> int:
    from apps.chat.surfaces.teams.notices import send_approval_cards

    try:
        return send_approval_cards(action_id)
    except TransientSurfaceError as exc:
        countdown = exc.retry_after or task_countdown(self.request.retries, base=2, cap=120)
        raise self.retry(exc=exc, countdown=countdown) from exc


def _on_action_saved(sender: Any, instance: ToolAction, created: bool, **_: Any) -> None:
    """A new action held for approval: its Teams cards leave after the commit (only when Teams is configured)."""
    if created and instance.status == ActionStatus.AWAITING_APPROVAL and settings.TEAMS_APP_ID:
        action_id = str(instance.pk)
        transaction.on_commit(lambda: enqueue("chat.teams_approval_cards", action_id))


register_outbound("teams", teams_outbound)
post_save.connect(_on_action_saved, sender=ToolAction, dispatch_uid="teams-approval-cards")
