"""The floor for bench/widget.py: a bare Channels websocket consumer that echoes each frame (no tenant, no DB)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")

import django

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class Echo(AsyncWebsocketConsumer):
    channel_layer_alias = None  # type: ignore[assignment]  # no channel layer: the floor is Channels alone

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)


application = ProtocolTypeRouter({"websocket": URLRouter([path("echo/", Echo.as_asgi())])})
