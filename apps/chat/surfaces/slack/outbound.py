"""Posting in Slack threads: ``chat.postMessage`` and ``chat.update`` through slack-sdk's ``WebClient``.

The client talks to ``settings.SLACK_API_URL`` (Slack's, or the stand-in's) with the install's bot token (sealed
with the client's key, opened per call). slack-sdk's ``RateLimitErrorRetryHandler`` waits out a 429's
``Retry-After`` once; a throttle or a connection error after that is a ``TransientSurfaceError`` (the task retries),
any other ``ok: false`` a ``SurfaceError`` that names Slack's error code. Registered as the ``slack`` Outbound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.error import URLError

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from apps.chat.models import ChatSurfaceInstall, Conversation, Surface
from apps.chat.surfaces.outbound import Action, Handoff, SurfaceError, TransientSurfaceError, register_outbound
from apps.chat.surfaces.routing import bot_token, current_client
from apps.safety.notify.compose import escape_mrkdwn

TIMEOUT = 10


def web_client(token: str = "", *, base_url: str = "") -> WebClient:
    return WebClient(
        token=token or None,
        base_url=base_url or settings.SLACK_API_URL,
        timeout=TIMEOUT,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1), ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def thread_of(conversation: Conversation) -> tuple[str, str]:
    """(channel, thread_ts) of a conversation's key ``T…:C…:thread_ts`` (thread_ts "" for a direct message)."""
    parts = conversation.external_key.split(":")
    if len(parts) != 3:
        raise SurfaceError(f"Not a Slack thread key: {conversation.external_key!r}.")
    return parts[1], parts[2]


def handoff_context(handoff: Handoff) -> dict[str, Any]:
    """A handoff notice's context line: who will answer, and the ticket when one was opened."""
    parts = [f"*Who will answer:* {escape_mrkdwn(handoff.who_text)}"]
    if handoff.ticket:
        parts.append(f"*Ticket:* {escape_mrkdwn(handoff.ticket)}")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "  ·  ".join(parts)[:3000]}]}


def blocks(
    text: str, citations: Sequence[dict[str, Any]], actions: Sequence[Action], handoff: Handoff | None = None
) -> list[dict[str, Any]]:
    """The message as Block Kit: its text, a context line with its sources (or, for a handoff notice, who will
    answer and the ticket), and its buttons."""
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)[:3000] or " "}}
    ]
    if handoff is not None:
        out.append(handoff_context(handoff))
    if citations:
        sources = [
            f"[{c.get('n')}] <{c['url']}|{escape_mrkdwn(str(c.get('label') or c.get('document')))}>"
            if c.get("url")
            else f"[{c.get('n')}] {escape_mrkdwn(str(c.get('label') or c.get('document')))}"
            for c in citations
        ]
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Sources: " + "  ".join(sources)}]})
    if actions:
        buttons = []
        for action in actions:
            button: dict[str, Any] = {
                "type": "button",
                "action_id": action.action_id,
                "text": {"type": "plain_text", "text": action.label[:75]},
            }
            if action.url:
                button["url"] = action.url
            if action.value:
                button["value"] = action.value[:2000]
            buttons.append(button)
        out.append({"type": "actions", "elements": buttons})
    return out


def _fallback(text: str, citations: Sequence[dict[str, Any]]) -> str:
    sources = "; ".join(f"[{c.get('n')}] {c.get('label') or c.get('document')}" for c in citations)
    return escape_mrkdwn(text + (f"\n\nSources: {sources}" if citations else ""))  # notifications parse it too


class SlackOutbound:
    def __init__(self, install: ChatSurfaceInstall) -> None:
        # Opened here, in the client's schema: post/update may run on another thread (an answer being written).
        self.install, self.token = install, bot_token(current_client(), install)

    def _client(self) -> WebClient:
        if not self.token:
            raise SurfaceError("This Slack install has no bot token: install Gaby in Slack again.")
        return web_client(self.token)

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self._client(), method)(**kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            if exc.response is not None and exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                raise TransientSurfaceError("Slack is rate-limiting Gaby.", retry_after=retry_after) from exc
            if exc.response is not None and exc.response.status_code >= 500:
                raise TransientSurfaceError(f"Slack answered {exc.response.status_code}.") from exc
            raise SurfaceError(f"Slack refused {method}: {error or exc}.") from exc
        except (URLError, TimeoutError, OSError) as exc:
            raise TransientSurfaceError(f"Slack could not be reached: {exc}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post(
        self,
        conversation: Conversation,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Action] = (),
        handoff: Handoff | None = None,
    ) -> str:
        channel, thread_ts = thread_of(conversation)
        data = self._call(
            "chat_postMessage",
            channel=channel,
            thread_ts=thread_ts or None,
            text=_fallback(text, citations),
            blocks=blocks(text, citations, actions, handoff),
        )
        return str(data.get("ts", ""))

    def update(
        self,
        conversation: Conversation,
        message_ref: str,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        channel, _thread_ts = thread_of(conversation)
        self._call(
            "chat_update",
            channel=channel,
            ts=message_ref,
            text=_fallback(text, citations),
            blocks=blocks(text, citations, actions),
        )


register_outbound(Surface.SLACK, SlackOutbound)
