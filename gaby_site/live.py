"""The operator shell's live channel: one socket per open page, joined to its client's group.

Capabilities (new tickets, investigation steps, approvals, knowledge progress, chat) ``broadcast`` swaps to
the current client's ``tenant_group(schema, "live")`` and the shell swaps the rendered partials in. They
render only ``if pages_open()``: with no page of the team open, a thousand chat messages or investigation
steps a minute would each render HTML nobody receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import connection

from apps.accounts.access import membership_for
from gaby_site.channel_layer import has_listeners
from tenants.channels import CLOSE_FORBIDDEN, in_tenant, tenant_group
from tenants.publisher import group_send


def _client_group() -> str:
    return tenant_group(str(connection.schema_name), "live")  # type: ignore[attr-defined]


def pages_open() -> bool:
    """Whether any page of the current client's team is open (True when it cannot tell)."""
    return has_listeners(_client_group())


def broadcast(payloads: Iterable[dict[str, Any]]) -> None:
    """Hand each payload to the current client's open pages, in order; never waits for Redis, never raises
    (a live update is a courtesy: the change is committed and a page shows it on reload)."""
    group = _client_group()
    for payload in payloads:
        group_send(group, {"type": "live.event", "payload": payload})


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
