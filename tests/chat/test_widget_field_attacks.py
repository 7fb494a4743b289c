"""Attack: well-formed widget frames whose fields are longer than what they are stored in.

The frame reader bounds the whole frame (16,000 characters); each field of a ``ticket`` or ``rate`` frame must be
bounded too, or the database refuses the row and the socket dies instead of the visitor being told what to fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat.conftest import ChatWorld, events_until, gaby_answer, widget_socket
from tests.chat.test_consumer import _close_consumer_connections  # noqa: F401 (autouse: the consumer's connections)

pytestmark = pytest.mark.django_db


async def _ready(chat_world: ChatWorld) -> Any:
    socket = widget_socket(chat_world.hartwell_key)
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "hello"})
    assert (await socket.receive_json_from(timeout=30))["type"] == "ready"
    await socket.send_json_to({"type": "message", "text": "Can I talk to a human please?"})
    await events_until(socket, gaby_answer)
    return socket


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"email": "visitor@example.com", "name": "A" * 300}, "That name is too long"),
        ({"email": "v" * 64 + "@" + ("d" * 60 + ".") * 4 + "example", "name": "V"}, "That email address is too long"),
    ],
)
async def test_an_overlong_ticket_field_is_answered_with_what_to_fix_and_the_socket_stays_open(
    chat_world: ChatWorld, lexical_only: None, fields: dict[str, str], error: str
) -> None:
    socket = await _ready(chat_world)
    await socket.send_json_to({"type": "ticket", **fields})
    answer = await socket.receive_json_from(timeout=30)
    assert answer["type"] == "error" and answer["error"].startswith(error), answer
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=30))["type"] == "pong"  # still open
    await socket.send_json_to({"type": "ticket", "email": "visitor@example.com", "name": "Vi"})
    done = (await events_until(socket, gaby_answer))[-1]
    assert done["body"] == "Thanks! Ticket created: we'll reply to visitor@example.com."
    await socket.disconnect()
