"""A Teams channel emulator: builds the activities Teams sends a bot, signs them as the Bot Connector service does
(an RS256 JWT from ``TeamsSandbox``'s key, issuer ``https://api.botframework.com``, audience = the bot's app id,
``serviceurl`` claim), and POSTs them to the bot's messaging endpoint.

Shapes follow Microsoft's "Receive messages in Teams" / "Channel and group chat conversations" docs: a personal chat
has ``conversation.conversationType == "personal"``; a channel message carries ``channelData.team``/``channel`` and
a ``mention`` entity with ``<at>Bot</at>`` in the text; a thread reply's conversation id ends with
``;messageid=<root id>``; an adaptive card ``Action.Submit`` arrives as a message whose ``value`` is the card data.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from sandbox.teams import BOT_FRAMEWORK_ISSUER, SigningKey, TeamsSandbox


@dataclass
class TeamsUser:
    aad_object_id: str
    name: str
    email: str = ""  # Teams does not put it in activities; the connector's member call or Graph says it

    @property
    def teams_id(self) -> str:
        return f"29:{self.aad_object_id}"


@dataclass
class TeamsEmulator:
    sandbox: TeamsSandbox
    app_id: str
    tenant_id: str
    bot_name: str = "Gaby"
    issuer: str = BOT_FRAMEWORK_ISSUER
    audience: str = ""  # empty: the app id
    key: SigningKey | None = None  # another key than the stand-in's: a forged token
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # --- tokens -------------------------------------------------------------------------------------
    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience or self.app_id,
            "serviceurl": self.sandbox.service_url,
            "nbf": now - 5,
            "exp": now + 3600,
            **overrides,
        }
        key = self.key or self.sandbox.key
        return jwt.encode(claims, key.pem, algorithm="RS256", headers={"kid": key.kid})

    # --- activities ---------------------------------------------------------------------------------
    def _base(self, user: TeamsUser, conversation: dict[str, Any], text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "id": f"1{int(time.time() * 1000)}{next(self._ids):04d}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "serviceUrl": self.sandbox.service_url,
            "channelId": "msteams",
            "from": {"id": user.teams_id, "name": user.name, "aadObjectId": user.aad_object_id},
            "conversation": {"tenantId": self.tenant_id, **conversation},
            "recipient": {"id": f"28:{self.app_id}", "name": self.bot_name},
            "textFormat": "plain",
            "text": text,
            "locale": "en-US",
            "channelData": {"tenant": {"id": self.tenant_id}},
        }

    def personal(self, user: TeamsUser, text: str, *, conversation_id: str = "") -> dict[str, Any]:
        conversation = {
            "conversationType": "personal",
            "id": conversation_id or f"a:1{uuid.uuid5(uuid.NAMESPACE_URL, user.aad_object_id + self.app_id).hex}",
        }
        return self._base(user, conversation, text)

    def channel_mention(
        self, user: TeamsUser, text: str, *, team_id: str, channel_id: str, thread_id: str = ""
    ) -> dict[str, Any]:
        """``@Gaby <text>`` in a channel; ``thread_id``: a reply in that thread (else a new post, its own root)."""
        mention = f"<at>{self.bot_name}</at>"
        activity = self._base(user, {}, f"{mention} {text}")
        root = thread_id or activity["id"]
        activity["conversation"] = {
            "tenantId": self.tenant_id,
            "conversationType": "channel",
            "isGroup": True,
            "id": f"{channel_id};messageid={root}",
        }
        activity["channelData"] = {
            "tenant": {"id": self.tenant_id},
            "team": {"id": team_id},
            "channel": {"id": channel_id},
            "teamsTeamId": team_id,
            "teamsChannelId": channel_id,
        }
        activity["entities"] = [
            {"type": "mention", "text": mention, "mentioned": {"id": f"28:{self.app_id}", "name": self.bot_name}}
        ]
        return activity

    def card_submit(self, user: TeamsUser, value: dict[str, Any], *, conversation_id: str, reply_to: str) -> dict:
        """What Teams sends when someone clicks an ``Action.Submit`` button on the bot's adaptive card."""
        activity = self._base(user, {"conversationType": "personal", "id": conversation_id}, "")
        activity.pop("text")
        activity["value"] = value
        activity["replyToId"] = reply_to
        return activity

    # --- delivery -----------------------------------------------------------------------------------
    def send(self, endpoint: str, activity: dict[str, Any], *, token: str | None = None, **http: Any) -> httpx.Response:
        """POST it to the bot as the Bot Connector does (``Authorization: Bearer <jwt>``)."""
        headers = {"Authorization": f"Bearer {token if token is not None else self.token()}"}
        if token == "":
            headers = {}
        return httpx.post(endpoint, json=activity, headers=headers, timeout=30, **http)
