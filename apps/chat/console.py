"""The operator console's websocket, ``/ws/chat/console/``: for the client's members, from its own domains.

It marks an operator online (Agent and above: presence) while it is open and streams the conversation they
watch. The Host picks the client and the Origin must be one of the client's own domains
(``apps.core.channels``); a signed-in user without a membership is closed with 4403.
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.access import membership_for
from apps.accounts.models import Role
from apps.chat import frames, live, presence
from apps.chat.models import Conversation
from apps.core.channels import CLOSE_FORBIDDEN, in_tenant


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    """An operator's console: marks them online (Agent and above) and streams the conversation they watch."""

    group: str | None = None
    role: str | None = None

    @in_tenant
    def _membership_role(self) -> str | None:
        membership = membership_for(self.scope.get("user"), self.scope["tenant"])
        return membership.role if membership else None

    @in_tenant
    def _seen(self) -> None:
        if self.role and Role.allows(self.role, Role.AGENT):
            presence.presence_seen(user_id=self.scope["user"].pk, channel_name=self.channel_name)

    @in_tenant
    def _gone(self) -> None:
        presence.presence_gone(channel_name=self.channel_name)

    @in_tenant
    def _exists(self, conversation_id: str) -> bool:
        try:
            return Conversation.objects.filter(pk=uuid.UUID(conversation_id)).exists()
        except ValueError:
            return False

    async def connect(self) -> None:
        self.role = await self._membership_role()
        await self.accept()
        if self.role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self._seen()
        await self.send_json({"type": "hello", "role": self.role})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.role:
            await self._gone()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.role is None:
            return
        content = await frames.read_frame(self, text_data, bytes_data)
        if content is not None:
            await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "watch":
            conversation_id = str(content.get("conversation") or "")
            if not await self._exists(conversation_id):
                await self.send_json({"type": "error", "error": "No such conversation here."})
                return
            if self.group:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = live.conversation_group(self.scope["schema_name"], conversation_id)
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json({"type": "watching", "conversation": conversation_id})
        elif kind == "ping":
            await self._seen()
            await self.send_json({"type": "pong"})

    async def chat_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
