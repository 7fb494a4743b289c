"""Gaby's Redis channel layer against the real Redis: a late inbox read, cancellation, and who is listening."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from apps.core.channel_layer import RedisChannelLayer, has_listeners


def _impatient_layer() -> RedisChannelLayer:
    """Reads give up after 0.3 s while the inbox pop blocks 1 s: every empty pop is read "late"."""
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["hosts"] = [dict(config["hosts"][0], socket_timeout=0.3)]
    config["prefix"] = f"{config['prefix']}-impatient"
    layer = RedisChannelLayer(**config)
    layer.brpop_timeout = 1
    return layer


@pytest.mark.asyncio
async def test_a_late_inbox_read_is_survived_and_the_message_still_arrives() -> None:
    layer = _impatient_layer()
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(2.5)  # several late reads (redis-py retries each, then gives up)
    assert not receiving.done(), receiving.exception() if receiving.done() else None
    await layer.send(channel, {"type": "hello", "n": 1})
    assert (await asyncio.wait_for(receiving, 5))["n"] == 1
    await layer.flush()


@pytest.mark.asyncio
@pytest.mark.parametrize("after", [0.0, 0.001, 0.005, 0.5])
async def test_a_receive_cancelled_as_it_starts_ends(after: float) -> None:
    """A socket closed just as its consumer starts reading: redis-py loses a cancellation that lands while the
    inbox pop is being sent, and with a patient socket the layer popped an empty inbox for ever."""
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["hosts"] = [dict(config["hosts"][0], socket_timeout=30)]
    layer = RedisChannelLayer(**config)
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(after)
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(receiving, 8)  # the pop under way takes at most 5 s


def test_has_listeners_follows_the_groups_members() -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    assert has_listeners("listeners-test") is False
    async_to_sync(layer.group_add)("listeners-test", channel)
    assert has_listeners("listeners-test") is True
    async_to_sync(layer.group_discard)("listeners-test", channel)
    assert has_listeners("listeners-test") is False
