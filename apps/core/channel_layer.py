"""The Redis channel layer, surviving a late read of its inbox.

channels_redis waits for each process's inbox with a blocking pop of 5 s, and redis-py gives up reading
an answer after its socket timeout (5 s too, by default). On a busy event loop (a thousand widget sockets,
say) the read of an empty pop's answer can come late, redis-py raises ``TimeoutError``, and the error
reaches the consumer that happened to hold the inbox: Channels closes that socket without a close frame,
the next consumer takes over the inbox and meets the same race, and under sustained load every socket of
the process goes down one after another. Here a late read counts as "nothing arrived yet": redis-py has
already dropped the connection it timed out on, and the layer simply pops again on a fresh one.

It also answers, from synchronous code, whether a group has anyone in it (``has_listeners``): rendering a
live row for a thousand chat messages a minute is wasted when no operator has a page open.

Raising redis-py's socket timeout instead is no fix. A consumer cancelled just as its pop is being sent (its
socket closed as it started reading) loses the cancellation inside redis-py and goes on popping an empty
inbox for ever; the timeout error used to be what ended it. So a pop is never started, or retried, by a task
that is being cancelled: it is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.core.redis_clients import shared_client

log = logging.getLogger(__name__)


class RedisChannelLayer(BaseRedisChannelLayer):
    # Overrides a private method of channels_redis until it handles this itself:
    # https://github.com/django/channels_redis/issues/422
    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # the cancellation redis-py swallowed mid-read
        try:
            return await super()._brpop_with_clean(index, channel, timeout)
        except RedisTimeoutError:
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None
            log.warning("channel layer inbox read came late; popping again", extra={"channel": channel})
            return None  # receive_single pops again while there is no message


def has_listeners(group: str) -> bool:
    """Whether any socket is in ``group`` (True when it cannot tell: then the event is simply sent)."""
    layer = get_channel_layer()
    if not isinstance(layer, RedisChannelLayer):
        return True
    host = layer.hosts[layer.consistent_hash(group)]
    address = host.get("address")
    if not isinstance(address, str):
        return True
    client = shared_client(address)
    try:
        # Members are scored by when they joined; channels_redis ignores those older than group_expiry.
        return bool(client.zcount(layer._group_key(group), int(time.time()) - layer.group_expiry, "+inf"))
    except redis.RedisError:
        return True
