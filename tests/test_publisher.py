"""Live events from synchronous code go out on one long-lived loop: in order, to the real Redis channel layer."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tenants import publisher


def test_events_arrive_in_order_and_the_loop_is_reused() -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("publisher-test", channel)
    try:
        for number in range(5):
            publisher.group_send("publisher-test", {"type": "live.event", "payload": {"n": number}})
        loop = publisher._loop
        publisher.group_send("publisher-test", {"type": "live.event", "payload": {"n": 5}})
        assert publisher._loop is loop and loop is not None and loop.is_running()  # one loop, one Redis pool

        async def receive_all() -> list[int]:
            return [(await asyncio.wait_for(layer.receive(channel), 2))["payload"]["n"] for _ in range(6)]

        assert async_to_sync(receive_all)() == [0, 1, 2, 3, 4, 5]
    finally:
        async_to_sync(layer.group_discard)("publisher-test", channel)
