"""The widget's websocket with WebsocketCommunicator: key and Origin gates, streaming answers, resume, limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django_tenants.utils import tenant_context

from apps.chat.models import ChatMessage, Conversation
from tests.chat.conftest import ChatWorld, clear_conversations, events_until, gaby_answer, widget_socket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
async def _close_consumer_connections(world: Any) -> Any:
    yield
    await database_sync_to_async(clear_conversations)(world.clients["hartwell"])
    await database_sync_to_async(connections.close_all)()


async def _hello(communicator: Any, resume: str | None = None) -> dict[str, Any]:
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "resume": resume})
    ready = await communicator.receive_json_from(timeout=30)
    assert ready["type"] == "ready", ready
    return dict(ready)


async def test_a_question_is_answered_from_knowledge_token_by_token_with_a_citation(
    chat_world: ChatWorld, lexical_only: None
) -> None:
    socket = widget_socket(chat_world.hartwell_key)
    ready = await _hello(socket)
    assert ready["config"]["persona"] == "Hartwell Helper" and ready["config"]["theme"] == {"accent": "#0b6e4f"}
    await socket.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
    events = await events_until(socket, gaby_answer)
    assert events[0]["type"] == "message" and events[0]["role"] == "visitor"
    tokens = [e for e in events if e["type"] == "token"]
    answer = events[-1]
    assert len(tokens) > 5, "the answer streams word by word"
    assert "".join(t["text"] for t in tokens) == answer["body"]
    assert answer["stream"] == tokens[0]["stream"] and answer["author"] == "Hartwell Helper"
    assert "Reset credentials" in answer["body"]
    assert answer["citations"][0]["document"] == "VPN runbook"
    assert "Reset a user's VPN password" in answer["citations"][0]["label"]
    assert "offer" not in answer
    await socket.disconnect()


async def test_an_unknown_question_offers_a_person(chat_world: ChatWorld, lexical_only: None) -> None:
    socket = widget_socket(chat_world.hartwell_key)
    await _hello(socket)
    await socket.send_json_to({"type": "message", "text": "What is the capital of Mongolia?"})
    answer = (await events_until(socket, gaby_answer))[-1]
    assert answer["offer"] == "human" and answer["citations"] == []
    await socket.disconnect()


async def test_a_reload_resumes_the_conversation_server_side(chat_world: ChatWorld, lexical_only: None) -> None:
    first = widget_socket(chat_world.hartwell_key)
    ready = await _hello(first)
    await first.send_json_to({"type": "message", "text": "printer paper jam"})
    await events_until(first, gaby_answer)
    await first.disconnect()

    again = widget_socket(chat_world.hartwell_key)
    resumed = await _hello(again, resume=ready["resume"])
    assert resumed["resumed"] and resumed["conversation"] == ready["conversation"]
    assert [m["role"] for m in resumed["messages"]] == ["visitor", "gaby"]
    assert resumed["messages"][0]["body"] == "printer paper jam"
    await again.disconnect()

    stranger = widget_socket(chat_world.hartwell_key)
    fresh = await _hello(stranger, resume="not-a-real-token")
    assert not fresh["resumed"] and fresh["conversation"] != ready["conversation"] and fresh["messages"] == []
    await stranger.disconnect()


async def test_a_disallowed_origin_is_refused(chat_world: ChatWorld) -> None:
    socket = widget_socket(chat_world.hartwell_key, origin="http://evil.example")
    await socket.connect()
    assert await socket.receive_json_from(timeout=30) == {
        "type": "error",
        "error": "This chat is not enabled on http://evil.example.",
    }
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_an_unknown_key_is_refused(chat_world: ChatWorld) -> None:
    socket = widget_socket("gw_nope")
    await socket.connect()
    assert (await socket.receive_json_from(timeout=30))["type"] == "error"
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_client_bs_key_never_reaches_client_as_data(chat_world: ChatWorld, lexical_only: None) -> None:
    """Dearborn's key on Hartwell's host is unknown there; on its own host it sees only Dearborn's knowledge."""
    crossed = widget_socket(chat_world.dearborn_key, origin="http://dearborn-cpa.example")
    await crossed.connect()
    assert (await crossed.receive_json_from(timeout=30))["type"] == "error"
    assert await crossed.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}

    own = widget_socket(chat_world.dearborn_key, host="dearborn.localhost", origin="http://dearborn-cpa.example")
    await _hello(own)
    await own.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
    answer = (await events_until(own, gaby_answer))[-1]
    assert answer["citations"] == [] and "VPN runbook" not in answer["body"] and answer["offer"] == "human"
    await own.disconnect()

    hartwells = widget_socket(chat_world.hartwell_key, host="dearborn.localhost")
    await hartwells.connect()
    assert (await hartwells.receive_json_from(timeout=30))["type"] == "error"
    assert await hartwells.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_oversized_and_too_frequent_messages_are_refused(
    chat_world: ChatWorld, lexical_only: None, settings: Any
) -> None:
    settings.CHAT_SESSION_MESSAGES_PER_MINUTE = 2
    socket = widget_socket(chat_world.hartwell_key, ip="10.2.2.2")
    await _hello(socket)
    await socket.send_json_to({"type": "message", "text": "x" * 2001})
    assert await socket.receive_json_from(timeout=30) == {
        "type": "error",
        "error": "Keep messages under 2000 characters.",
    }
    await socket.send_json_to({"type": "message", "text": "printer paper jam"})
    await events_until(socket, gaby_answer)
    await socket.send_json_to({"type": "message", "text": "third in a minute"})
    assert await socket.receive_json_from(timeout=30) == {
        "type": "error",
        "error": "You're sending messages too quickly; wait a moment.",
    }
    await socket.disconnect()


async def test_too_many_connections_from_one_address_are_refused(chat_world: ChatWorld, settings: Any) -> None:
    settings.CHAT_IP_CONNECTIONS_PER_MINUTE = 1
    first = widget_socket(chat_world.hartwell_key, ip="10.3.3.3")
    await _hello(first)
    second = widget_socket(chat_world.hartwell_key, ip="10.3.3.3")
    await second.connect()
    assert (await second.receive_json_from(timeout=30))["type"] == "error"
    assert await second.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
    await first.disconnect()


@database_sync_to_async
def _stored(conversation_id: str, client: Any) -> tuple[str, list[str]]:
    with tenant_context(client):
        conversation = Conversation.objects.get(pk=conversation_id)
        return conversation.state, list(
            ChatMessage.objects.filter(conversation=conversation).values_list("role", flat=True)
        )


async def test_asking_for_a_person_with_nobody_online_offers_a_ticket(
    chat_world: ChatWorld, world: Any, lexical_only: None
) -> None:
    socket = widget_socket(chat_world.hartwell_key)
    ready = await _hello(socket)
    await socket.send_json_to({"type": "message", "text": "Can I talk to a human please?"})
    note = (await events_until(socket, gaby_answer))[-1]
    assert note["role"] == "system" and note["offer"] == "ticket" and "Nobody from the team" in note["body"]
    await socket.send_json_to({"type": "ticket", "email": "not-an-email"})
    assert (await socket.receive_json_from(timeout=30))["error"].startswith("That doesn't look like an email")
    await socket.send_json_to({"type": "ticket", "email": "Visitor@Example.com"})
    done = (await events_until(socket, gaby_answer))[-1]
    assert done["body"] == "Thanks! Ticket created: we'll reply to visitor@example.com."
    state, roles = await _stored(ready["conversation"], world.clients["hartwell"])
    assert state == "bot" and roles == ["visitor", "system", "system"]
    await socket.disconnect()


async def test_the_widget_does_not_wait_for_channels_thread_for_synchronous_code(
    chat_world: ChatWorld, lexical_only: None
) -> None:
    """Channels closes stale connections on its one thread for synchronous code before every event; the widget's
    database work runs elsewhere, so a busy thread there (another app's slow sync code) must not delay it."""
    visitor = widget_socket(chat_world.hartwell_key)
    await _hello(visitor)
    busy = asyncio.ensure_future(sync_to_async(time.sleep)(3))  # holds that one thread for 3 s
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await visitor.send_json_to({"type": "ping"})
    assert (await visitor.receive_json_from(timeout=10))["type"] == "pong"
    assert time.monotonic() - started < 1.5, "the ping waited for Channels' thread"
    await busy
    await visitor.disconnect()
