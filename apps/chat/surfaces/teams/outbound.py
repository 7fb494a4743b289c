"""Gaby's posts in a Teams thread, through the SDK's ``ConnectorClient`` (Bot Connector REST API):
``POST /v3/conversations/{id}/activities/{activityId}`` to reply to the user's message, ``POST …/activities`` when
there is none to reply to, ``PUT …/activities/{id}`` to update an answer as it is written. A 429 is retried after
its ``Retry-After`` (a few times, bounded), as Microsoft's "Rate limiting for bots" asks.

Replies go to ``TEAMS_SERVICE_URL``: Microsoft documents ``https://smba.trafficmanager.net/teams/`` as the global
Bot Connector URL a bot may use for any Teams conversation (proactive messages), so no per-tenant URL is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
from asgiref.sync import async_to_sync
from django.conf import settings
from microsoft_agents.activity import Activity

from apps.chat.models import ChatSurfaceInstall, Conversation, SurfaceDelivery
from apps.chat.surfaces.teams import cards
from apps.chat.surfaces.teams.auth import bot_token
from apps.chat.surfaces.teams.host import connector_for

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_TRIES = 4
MAX_RETRY_AFTER = 30.0  # seconds: a longer wait fails the post (the delivery task retries it later)


class TeamsPostError(RuntimeError):
    """The Bot Connector refused or failed the post; the message has its status and body."""


def message(text: str, citations: Sequence[dict[str, Any]] = (), actions: Sequence[Any] = ()) -> Activity:
    """Plain text when there is nothing else; an answer card (sources, buttons) when there is."""
    if not citations and not actions:
        return Activity(type="message", text=text, text_format="markdown")
    card = cards.answer(text, citations, actions)
    return Activity(type="message", text=text, attachments=[cards.attachment(card)])


async def _with_retries(call: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(1, MAX_TRIES + 1):
        try:
            return await call()
        except aiohttp.ClientResponseError as exc:
            retry_after = float((exc.headers or {}).get("Retry-After") or 1) if exc.headers is not None else 1.0
            if exc.status == 401 and attempt == 1:
                bot_token.get(renew=True)  # an expired or revoked token: one fresh one
                continue
            if exc.status in (429, 502, 503) and attempt < MAX_TRIES and retry_after <= MAX_RETRY_AFTER:
                await asyncio.sleep(retry_after)
                continue
            raise TeamsPostError(f"The Bot Connector answered {exc.status}: {exc.message}"[:500]) from None
    raise TeamsPostError("The Bot Connector kept refusing the post.")


def _reply_target(conversation: Conversation) -> str:
    """The user's latest delivered message in this thread: Gaby's post replies to it."""
    latest = SurfaceDelivery.objects.filter(conversation=conversation).order_by("-received_at").first()
    return latest.delivery_id if latest is not None else ""


class TeamsOutbound:
    def __init__(self, install: ChatSurfaceInstall) -> None:
        self.install = install
        self.service_url = settings.TEAMS_SERVICE_URL

    def post(
        self,
        conversation: Conversation,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Any] = (),
    ) -> str:
        activity = message(text, citations, actions)
        reply_to = _reply_target(conversation)
        return async_to_sync(self._post)(conversation.external_key, reply_to, activity)

    async def _post(self, conversation_id: str, reply_to: str, activity: Activity) -> str:
        async def send() -> str:
            client = await connector_for(self.service_url)
            try:
                if reply_to:
                    sent = await client.conversations.reply_to_activity(conversation_id, reply_to, activity)
                else:
                    sent = await client.conversations.send_to_conversation(conversation_id, activity)
            finally:
                await client.close()
            return str(sent.id or "")

        return await _with_retries(send)

    def update(
        self,
        conversation: Conversation,
        message_ref: str,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Any] = (),
    ) -> None:
        activity = message(text, citations, actions)
        activity.id = message_ref
        async_to_sync(self._update)(conversation.external_key, message_ref, activity)

    async def _update(self, conversation_id: str, message_ref: str, activity: Activity) -> None:
        async def send() -> None:
            client = await connector_for(self.service_url)
            try:
                await client.conversations.update_activity(conversation_id, message_ref, activity)
            finally:
                await client.close()

        await _with_retries(send)
