"""Gaby's posts in a Teams thread, through the SDK's ``ConnectorClient`` (Bot Connector REST API):
``POST /v3/conversations/{id}/activities`` to post (a channel thread's id ends with ``;messageid=<root>``, which
puts the post in that thread, as Microsoft documents for replies to a channel post), ``PUT …/activities/{id}`` to
update an answer as it is written. (What Gaby says within the turn itself — a refusal, a decision — is the SDK's
``send_activity``: ``POST /v3/conversations/{id}/activities/{activityId}``, a reply to the user's message.) Called
from the foundation's answer writer on a worker thread: no database access here. A 429 is retried after
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
from microsoft_agents.activity import Activity, Attachment

from apps.chat.models import ChatSurfaceInstall, Conversation
from apps.chat.surfaces.outbound import Handoff, SurfaceError, TransientSurfaceError
from apps.chat.surfaces.teams import cards
from apps.chat.surfaces.teams.auth import bot_token
from apps.chat.surfaces.teams.host import connector_for

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_TRIES = 4
MAX_RETRY_AFTER = 30.0  # seconds: a longer wait fails the post (the delivery task retries it later)


def message(text: str, citations: Sequence[dict[str, Any]] = (), actions: Sequence[Any] = ()) -> Activity:
    """Plain text when there is nothing else; an answer card (sources, buttons) when there is."""
    if not citations and not actions:
        return Activity(type="message", text=text, text_format="markdown")
    card = cards.answer(text, citations, actions)
    return Activity(type="message", text=text, attachments=[Attachment.model_validate(cards.attachment(card))])


def _retry_after(exc: aiohttp.ClientResponseError) -> float:
    try:
        headers: Any = exc.headers or {}
        return max(0.0, float(headers.get("Retry-After") or 1))
    except ValueError:
        return 1.0


async def _with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """A 401 gets one fresh bot token; a 429/502/503 waits its Retry-After and tries again (bounded); then the
    foundation's errors: ``TransientSurfaceError`` (its task retries later) or ``SurfaceError`` (for good)."""
    for attempt in range(1, MAX_TRIES + 1):
        try:
            return await call()
        except aiohttp.ClientError as exc:
            if not isinstance(exc, aiohttp.ClientResponseError):
                raise TransientSurfaceError(f"The Bot Connector could not be reached: {exc}") from None
            wait = _retry_after(exc)
            if exc.status == 401 and attempt == 1:
                await asyncio.to_thread(bot_token.get, renew=True)  # an expired or revoked token: one fresh one
                continue
            transient = exc.status in (429, 500, 502, 503, 504)
            if transient and attempt < MAX_TRIES and wait <= MAX_RETRY_AFTER:
                await asyncio.sleep(wait)
                continue
            text = f"The Bot Connector answered {exc.status}: {exc.message}"[:500]
            if transient:
                raise TransientSurfaceError(text, retry_after=wait) from None
            raise SurfaceError(text) from None
    raise TransientSurfaceError("The Bot Connector kept refusing the post.")


async def send_activity(conversation_id: str, activity: Activity, *, service_url: str = "") -> str:
    """Post one activity in a conversation (a new message; in a channel thread when the id names one)."""

    async def send() -> str:
        client = await connector_for(service_url or settings.TEAMS_SERVICE_URL)
        try:
            sent = await client.conversations.send_to_conversation(conversation_id, activity)
        finally:
            await client.close()
        return str(sent.id or "")

    return await _with_retries(send)


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
        handoff: Handoff | None = None,
    ) -> str:
        if handoff is not None:
            card = cards.handoff(text, who=handoff.who_text, ticket=handoff.ticket)
            activity = Activity(
                type="message", text=text, attachments=[Attachment.model_validate(cards.attachment(card))]
            )
        else:
            activity = message(text, citations, actions)
        return async_to_sync(self._post)(conversation.external_key, activity)

    async def _post(self, conversation_id: str, activity: Activity) -> str:
        return await send_activity(conversation_id, activity, service_url=self.service_url)

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
