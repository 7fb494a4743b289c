"""Live events from synchronous code go out on one long-lived loop: in order, to the real Redis channel layer,
without the caller waiting for Redis; ``flush`` waits until they have left."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core import publisher


async def _receive(layer: object, channel: str, count: int) -> list[int]:
    return [(await asyncio.wait_for(layer.receive(channel), 2))["payload"]["n"] for _ in range(count)]  # type: ignore[attr-defined]


def test_events_arrive_in_order_on_one_loop_and_flush_waits_for_them() -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("publisher-test", channel)
    try:
        for number in range(5):
            publisher.group_send("publisher-test", {"type": "live.event", "payload": {"n": number}})
        first = publisher._current()
        publisher.group_send("publisher-test", {"type": "live.event", "payload": {"n": 5}})
        publisher.flush()
        assert publisher._current() is first and first.loop.is_running()  # one loop, one Redis pool
        assert first.queue.empty()  # flushed: everything handed over has been sent
        assert async_to_sync(_receive)(layer, channel, 6) == [0, 1, 2, 3, 4, 5]
    finally:
        async_to_sync(layer.group_discard)("publisher-test", channel)


def test_each_threads_events_keep_their_order_and_a_failed_send_is_only_logged(caplog: object) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("publisher-test-2", channel)
    try:
        publisher.group_send("", {"type": "live.event", "payload": {"n": -1}})  # an invalid group name: logged

        def send(base: int) -> None:
            for number in range(base, base + 10):
                publisher.group_send("publisher-test-2", {"type": "live.event", "payload": {"n": number}})

        threads = [threading.Thread(target=send, args=(base,)) for base in (0, 100, 200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        publisher.flush()
        received = async_to_sync(_receive)(layer, channel, 30)
        for base in (0, 100, 200):
            assert [n for n in received if base <= n < base + 10] == list(range(base, base + 10))
        assert "live event not sent" in caplog.text  # type: ignore[attr-defined]
    finally:
        async_to_sync(layer.group_discard)("publisher-test-2", channel)
