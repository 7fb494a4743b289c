"""Reading a websocket frame of the chat: every frame is checked here before any handler sees it.

A frame that is binary, too large, not JSON, nested too deeply, not a JSON object, or holds NUL or text that is
not Unicode (a lone surrogate) is answered with an ``error`` event naming what was wrong, and the socket stays
open: the widget shows the error and goes on, where a dropped socket would only make it reconnect and resend.
JSON, its depth and NUL are bounded by the edges' one parser (``apps.core.edges.load_json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apps.core.edges import EdgeError, load_json

if TYPE_CHECKING:
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

MAX_FRAME_CHARS = 16_000


class BadFrame(ValueError):
    """What was wrong with a frame, in words a widget can show."""


def _check_unicode(content: Any) -> None:
    pending = [content]  # a loop, not recursion: how deep a frame nests is the sender's choice
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadFrame("That frame holds characters that are not valid text (a lone surrogate).") from None


def read(text_data: str | None, bytes_data: bytes | None = None) -> dict[str, Any]:
    """The frame's JSON object, or ``BadFrame`` saying what to send instead."""
    if text_data is None:
        raise BadFrame("Send text frames holding JSON; binary frames are not read.")
    if len(text_data) > MAX_FRAME_CHARS:
        raise BadFrame("That message is too large.")
    try:
        content = load_json(text_data, nul="reject")
    except EdgeError as exc:
        raise BadFrame(f"That frame was refused: {exc}") from None
    if not isinstance(content, dict):
        raise BadFrame('Send a JSON object such as {"type": "ping"}.')
    _check_unicode(content)
    return content


async def read_frame(
    consumer: AsyncJsonWebsocketConsumer, text_data: str | None, bytes_data: bytes | None
) -> dict[str, Any] | None:
    """The frame's JSON object, or None once the sender was told what was wrong with it (the socket stays open)."""
    try:
        return read(text_data, bytes_data)
    except BadFrame as exc:
        await consumer.send_json({"type": "error", "error": str(exc)})
        return None
