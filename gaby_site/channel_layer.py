"""The Redis channel layer, surviving a late read of its inbox.

channels_redis waits for each process's inbox with a blocking pop of 5 s, and redis-py gives up reading
an answer after its socket timeout (5 s too, by default). On a busy event loop (a thousand widget sockets,
say) the read of an empty pop's answer can come late, redis-py raises ``TimeoutError``, and the error
reaches the consumer that happened to hold the inbox: Channels closes that socket without a close frame,
the next consumer takes over the inbox and meets the same race, and under sustained load every socket of
the process goes down one after another. Here a late read counts as "nothing arrived yet": redis-py has
already dropped the connection it timed out on, and the layer simply pops again on a fresh one.

Raising redis-py's socket timeout instead is no fix. A consumer cancelled mid-pop (its socket closed) can
lose the cancellation inside redis-py's read and go on popping an empty inbox for ever; the timeout error
used to be what ended it. So a pop is never started by a task that is being cancelled: it is cancelled.
"""

from __future__ import annotations

import logging
import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


class RedisChannelLayer(BaseRedisChannelLayer):  # type: ignore[misc]
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
