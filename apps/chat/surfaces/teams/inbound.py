"""A Teams activity read into the surface foundation's ``Inbound``: which tenant, which thread, who, what they said.

- Personal chat (``conversation.conversationType == "personal"``): the conversation id is the thread; always heard.
- Channel: only a message that @mentions the bot (a ``mention`` entity naming the recipient); the ``<at>…</at>``
  text is removed; the thread is the channel's root post (``<channel>;messageid=<root>``).
- The tenant is ``channelData.tenant.id`` (Teams' documented place; ``conversation.tenantId`` as a fallback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import Activity

from apps.chat.surfaces.base import Inbound

SURFACE = "teams"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Heard:
    """What an activity says before the user's email is known."""

    tenant_id: str
    conversation_key: str
    delivery_id: str
    aad_object_id: str
    user_name: str
    text: str
    is_direct: bool
    channel_id: str
    team_id: str

    def inbound(self, email: str) -> Inbound:
        return Inbound(
            surface=SURFACE,
            workspace_id=self.tenant_id,
            conversation_key=self.conversation_key,
            delivery_id=self.delivery_id,
            user_id=self.aad_object_id,
            user_email=email,
            user_name=self.user_name,
            text=self.text,
            is_direct=self.is_direct,
            channel_id=self.channel_id,
        )


def channel_data(activity: Activity) -> dict[str, Any]:
    data: Any = activity.channel_data
    if isinstance(data, dict):
        return data
    if hasattr(data, "model_dump"):
        return dict(data.model_dump(by_alias=True, exclude_none=True))
    return {}


def tenant_of(activity: Activity) -> str:
    tenant = (channel_data(activity).get("tenant") or {}).get("id") or ""
    if not tenant and activity.conversation is not None:
        tenant = activity.conversation.tenant_id or ""
    return str(tenant).strip().lower()


def thread_key(activity: Activity) -> str:
    """The conversation of a personal chat; the root post of a channel thread (``<channel id>;messageid=<root>``)."""
    conversation_id = activity.conversation.id if activity.conversation else ""
    if is_personal(activity) or ";messageid=" in conversation_id:
        return conversation_id
    return f"{conversation_id};messageid={activity.id}"  # a new channel post is the root of its own thread


def is_personal(activity: Activity) -> bool:
    return bool(activity.conversation and activity.conversation.conversation_type == "personal")


def heard(activity: Activity) -> Heard | None:
    """The message Gaby should answer, or None (a channel message that does not mention the bot, no text)."""
    if activity.type != "message" or activity.from_property is None or not activity.id:
        return None  # without its id a delivery could not be told from its re-delivery
    direct = is_personal(activity)
    if not direct and not activity.is_recipient_mentioned():
        return None
    text = activity.remove_recipient_mention() if not direct else (activity.text or "")
    text = _SPACES.sub(" ", (text or "").replace("&nbsp;", " ")).strip()
    if not text:
        return None
    data = channel_data(activity)
    return Heard(
        tenant_id=tenant_of(activity),
        conversation_key=thread_key(activity),
        delivery_id=str(activity.id or ""),
        aad_object_id=str(activity.from_property.aad_object_id or ""),
        user_name=str(activity.from_property.name or ""),
        text=text,
        is_direct=direct,
        channel_id=str((data.get("channel") or {}).get("id") or ""),
        team_id=str((data.get("team") or {}).get("id") or ""),
    )
