"""Tenant-aware Channels: Host resolves the client, members join its group, everyone else is closed."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from apps.core.channels import tenant_group
from gaby_site.asgi import application


def _communicator(host: str, session_key: str | None = None, origin: str | None = None) -> WebsocketCommunicator:
    headers = [(b"host", host.encode()), (b"origin", (origin or f"http://{host}").encode())]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> Any:
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.mark.django_db
async def test_member_connects_and_receives_their_clients_events(world: Any) -> None:
    communicator = _communicator("hartwell.localhost", world.sessions["alice"])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from() == {"type": "hello", "client": "hartwell", "role": "admin"}
    layer = get_channel_layer()
    await layer.group_send(tenant_group("dearborn", "live"), {"type": "live.event", "payload": {"n": "dearborn"}})
    await layer.group_send(tenant_group("hartwell", "live"), {"type": "live.event", "payload": {"n": "hartwell"}})
    assert await communicator.receive_json_from(timeout=3) == {"n": "hartwell"}  # Dearborn's never arrives
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.django_db
async def test_non_member_is_closed_with_4403(world: Any) -> None:
    communicator = _communicator("hartwell.localhost", world.sessions["carol"])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db
async def test_anonymous_is_closed_with_4403(world: Any) -> None:
    communicator = _communicator("hartwell.localhost")
    await communicator.connect()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db
async def test_unknown_host_is_closed_with_4404(world: Any) -> None:
    communicator = _communicator("nosuchclient.localhost", world.sessions["alice"])
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


@pytest.mark.django_db
async def test_foreign_origin_is_rejected(world: Any) -> None:
    communicator = _communicator("hartwell.localhost", world.sessions["alice"], origin="http://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.django_db
async def test_a_malformed_frame_leaves_the_live_socket_open(world: Any) -> None:
    communicator = _communicator("hartwell.localhost", world.sessions["alice"])
    connected, _ = await communicator.connect()
    assert connected and (await communicator.receive_json_from())["type"] == "hello"
    await communicator.send_to(text_data="{not json\x00")
    await communicator.send_to(bytes_data=b"\x00\xff")
    await get_channel_layer().group_send(tenant_group("hartwell", "live"), {"type": "live.event", "payload": {"n": 1}})
    assert await communicator.receive_json_from(timeout=3) == {"n": 1}  # still open, still delivering
    await communicator.disconnect()
