"""A client's Slack app install as the channel of its notices, instead of its incoming webhook.

When the client installed Gaby in Slack and chose an approvals channel on its Slack page, approval and escalation
notices are posted there with the install's bot token (``chat.postMessage``), and the approval buttons carry the
signed tokens the Bolt app decides on (apps/chat/surfaces/slack/notices.py). A client with only a webhook keeps the
webhook. The chat app sits above this one, so it registers the poster when it is ready; without it (or without a
channel chosen) ``target`` is None and the webhook path runs as before.
"""

from __future__ import annotations

from typing import Any, Protocol

from tenants.models import Client


class SlackAppPoster(Protocol):
    def channel_for(self, client: Client) -> str | None:
        """The approvals channel of the client's enabled Slack install (inside its schema), None when there is none."""
        ...

    def post(self, client: Client, channel: str, message: dict[str, Any]) -> None:
        """Post a Block Kit ``message`` (``text`` and ``blocks``); raises ``WebhookError`` for good and
        ``TransientWebhookError`` for a passing failure, as the webhook seam does."""
        ...


_poster: SlackAppPoster | None = None


def register(poster: SlackAppPoster) -> None:
    global _poster
    _poster = poster


def target(client: Client) -> str | None:
    """The channel notices go to through the Slack app, None to use the webhook."""
    return _poster.channel_for(client) if _poster is not None else None


def post(client: Client, channel: str, message: dict[str, Any]) -> None:
    if _poster is None:
        raise RuntimeError("No Slack app poster is registered (apps.chat registers it when ready).")
    _poster.post(client, channel, message)
