"""Attacks on the websockets (issue 18, item 10), through the real ASGI application.

Frames that are not JSON or carry NUL, a hello repeated to mint conversations, one visitor exhausting every
client's connection bucket, and an operator socket opened from another client's subdomain.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django_tenants.utils import tenant_context

from apps.chat.models import ChatMessage, Conversation
from tests.chat.conftest import ChatWorld, clear_conversations, widget_socket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
async def _close_consumer_connections(world: Any) -> Any:
    yield
    for name in ("hartwell", "dearborn"):
        await database_sync_to_async(clear_conversations)(world.clients[name])
    await database_sync_to_async(connections.close_all)()


def fresh_ip() -> str:
    """An address of this test only: rate-limit buckets live in Redis across runs."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@database_sync_to_async
def _counts(client: Any) -> tuple[int, int]:
    with tenant_context(client):
        return Conversation.objects.count(), ChatMessage.objects.count()


async def _ready(socket: WebsocketCommunicator, **hello: Any) -> dict[str, Any]:
    await socket.send_json_to({"type": "hello", **hello})
    ready = await socket.receive_json_from(timeout=30)
    assert ready["type"] == "ready", ready
    return dict(ready)


async def _still_open(socket: WebsocketCommunicator) -> None:
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=10) == {"type": "pong"}


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ('{"type": "hello"', "not valid JSON"),
        ("\x00", "not valid JSON"),
        ('{"type": "message", "text": "hi\\u0000there"}', "NUL"),
        ('{"type": "message", "text": "\\ud800"}', "not valid text"),
        ('["hello"]', "a JSON object"),
        ('{"type": "message", "text": ' + "[" * 5000 + "]" * 5000 + "}", "nests deeper"),
    ],
    ids=["truncated", "nul-byte", "escaped-nul", "lone-surrogate", "not-an-object", "deep"],
)
async def test_a_bad_frame_is_answered_with_an_error_and_the_socket_stays_open(
    chat_world: ChatWorld, world: Any, frame: str, says: str
) -> None:
    socket = widget_socket(chat_world.hartwell_key, ip=fresh_ip())
    assert (await socket.connect())[0]
    await _ready(socket)
    await socket.send_to(text_data=frame)
    error = await socket.receive_json_from(timeout=10)
    assert error["type"] == "error" and says in error["error"], error
    await _still_open(socket)
    assert await _counts(world.clients["hartwell"]) == (1, 0), "nothing of the bad frame was stored"
    await socket.disconnect()


async def test_a_binary_frame_is_refused_in_words(chat_world: ChatWorld) -> None:
    socket = widget_socket(chat_world.hartwell_key, ip=fresh_ip())
    assert (await socket.connect())[0]
    await _ready(socket)
    await socket.send_to(bytes_data=b"\x00\x01")
    error = await socket.receive_json_from(timeout=10)
    assert error == {"type": "error", "error": "Send text frames holding JSON; binary frames are not read."}
    await _still_open(socket)
    await socket.disconnect()


async def test_the_console_answers_a_bad_frame_too(world: Any) -> None:
    from gaby_site.asgi import application

    headers = [
        (b"host", b"hartwell.localhost"),
        (b"origin", b"http://hartwell.localhost"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={world.sessions['bob']}".encode()),
    ]
    console = WebsocketCommunicator(application, "/ws/chat/console/", headers=headers)
    assert (await console.connect())[0]
    assert (await console.receive_json_from(timeout=30))["type"] == "hello"
    await console.send_to(text_data="{nope")
    assert "not valid JSON" in (await console.receive_json_from(timeout=10))["error"]
    await _still_open(console)
    await console.disconnect()


async def test_a_repeated_hello_resumes_the_sockets_conversation(chat_world: ChatWorld, world: Any) -> None:
    socket = widget_socket(chat_world.hartwell_key, ip=fresh_ip())
    assert (await socket.connect())[0]
    first = await _ready(socket)
    for hello in ({}, {"resume": "someone-elses-token"}, {"resume": None}):
        again = await _ready(socket, **hello)
        assert (again["conversation"], again["resume"], again["resumed"]) == (
            first["conversation"],
            first["resume"],
            True,
        )
    assert await _counts(world.clients["hartwell"]) == (1, 0), "one conversation per socket"
    await socket.disconnect()
    # A new socket of the same browser resumes it with its secret, as a reload does.
    reload = widget_socket(chat_world.hartwell_key, ip=fresh_ip())
    assert (await reload.connect())[0]
    resumed = await _ready(reload, resume=first["resume"])
    assert resumed["conversation"] == first["conversation"]
    assert await _counts(world.clients["hartwell"]) == (1, 0)
    await reload.disconnect()


async def test_the_connection_bucket_is_per_client_and_address(chat_world: ChatWorld, settings: Any) -> None:
    settings.CHAT_IP_CONNECTIONS_PER_MINUTE = 2
    ip = fresh_ip()
    left_in_window = 60 - time.time() % 60  # the buckets count per clock minute: all three in the same one
    if left_in_window < 20:
        await asyncio.sleep(left_in_window + 0.1)
    for _ in range(2):
        socket = widget_socket(chat_world.hartwell_key, ip=ip)
        assert (await socket.connect())[0]
        await _ready(socket)
        await socket.disconnect()
    third = widget_socket(chat_world.hartwell_key, ip=ip)
    await third.connect()
    assert "Too many connections" in (await third.receive_json_from(timeout=10))["error"]
    assert await third.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
    # The same visitor on another client's widget is that client's business: its own bucket.
    elsewhere = widget_socket(
        chat_world.dearborn_key, host="dearborn.localhost", origin="http://dearborn-cpa.example", ip=ip
    )
    assert (await elsewhere.connect())[0]
    await _ready(elsewhere)
    await elsewhere.disconnect()


def _member_socket(path: str, session: str, origin: str) -> WebsocketCommunicator:
    from gaby_site.asgi import application

    headers = [
        (b"host", b"hartwell.localhost:8000"),
        (b"origin", origin.encode()),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()),
    ]
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.parametrize("path", ["/ws/chat/console/", "/ws/live/"])
@pytest.mark.parametrize("origin", ["http://dearborn.localhost", "http://dearborn.localhost:8000", "http://localhost"])
async def test_a_member_socket_refuses_another_subdomains_origin(world: Any, path: str, origin: str) -> None:
    socket = _member_socket(path, world.sessions["bob"], origin)
    await socket.connect()
    assert await socket.receive_output(timeout=10) == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("path", ["/ws/chat/console/", "/ws/live/"])
async def test_a_member_socket_from_its_own_domain_is_accepted(world: Any, path: str) -> None:
    socket = _member_socket(path, world.sessions["bob"], "http://hartwell.localhost:8000")
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=30))["type"] == "hello"
    await socket.disconnect()
