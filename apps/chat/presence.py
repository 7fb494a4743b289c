"""Which operators have a console open right now: one row per console socket, refreshed while it is open, so a
handoff knows whether someone can come (§8.1). Stale rows do not count and are swept as sockets close."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from apps.chat.models import OperatorPresence


def operators_online() -> int:
    since = timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_SECONDS)
    return OperatorPresence.objects.filter(last_seen__gte=since).values("user_id").distinct().count()


def presence_seen(*, user_id: UUID, channel_name: str) -> None:
    OperatorPresence.objects.update_or_create(
        channel_name=channel_name, defaults={"user_id": user_id, "last_seen": timezone.now()}
    )


def presence_gone(*, channel_name: str) -> None:
    OperatorPresence.objects.filter(channel_name=channel_name).delete()
    OperatorPresence.objects.filter(
        last_seen__lt=timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_SECONDS * 10)
    ).delete()
