"""The operator shell's live socket: one per open page, joined to its client's ``live`` group once the user's
membership is checked; what ``apps.core.live.broadcast`` sends to the group reaches the page."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.access import membership_for
from apps.core.channels import CLOSE_FORBIDDEN, in_tenant, tenant_group


class LiveConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    @in_tenant
    def _membership_role(self) -> str | None:
        membership = membership_for(self.scope.get("user"), self.scope["tenant"])
        return membership.role if membership else None

    async def connect(self) -> None:
        role = await self._membership_role()
        await self.accept()
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = tenant_group(self.scope["schema_name"], "live")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "hello", "client": self.scope["schema_name"], "role": role})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Pages only listen on this socket: what they send is ignored, never decoded (a malformed frame used to
        raise in the JSON decoding and drop the socket)."""

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def live_event(self, event: dict[str, Any]) -> None:
        """Forward a broadcast (``{"type": "live.event", "payload": {...}}``) to the page."""
        await self.send_json(event["payload"])
