"""The Slack app's Celery task (imported by apps/chat/tasks.py so autodiscovery registers it)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from slack_sdk.errors import SlackApiError

from apps.chat.surfaces.slack.events import process
from apps.core.retry import task_countdown


@shared_task(name="chat.slack_event", bind=True, max_retries=5)
def slack_event(self: Task, body: dict[str, Any], direct: bool) -> str:
    """One acknowledged Slack event: the user looked up, then ``receive`` (which claims it once)."""
    try:
        return process(body, direct=direct)
    except (SlackApiError, OSError) as exc:
        raise self.retry(exc=exc, countdown=task_countdown(self.request.retries, base=2, cap=120)) from exc
