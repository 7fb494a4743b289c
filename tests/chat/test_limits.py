"""The chat's rate limits keep one Redis connection pool for the process, whatever thread or context counts."""

from __future__ import annotations

import asyncio
import threading
import uuid

import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from apps.chat import limits


def _connections_received() -> int:
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_counting_from_many_threads_opens_no_connection_per_count() -> None:
    """Each chat call runs in a fresh context on a pool thread, where ``django.core.cache.cache`` is a new
    client: counting through it opened a Redis connection per visitor's connect and message."""

    ip, other = f"10.9.0.1-{uuid.uuid4()}", f"10.9.0.2-{uuid.uuid4()}"  # buckets of this run only

    async def count_many() -> list[bool]:
        count = sync_to_async(limits.allow, thread_sensitive=False)
        return await asyncio.gather(*(count("test", ip, limit=100) for _ in range(20)))

    limits.allow("test", ip, limit=100)  # the process's pool has its first connection
    before = _connections_received()
    counted: list[bool] = []
    # A thread of its own, like the server's event loop: its context never held the cache client.
    loop_thread = threading.Thread(target=lambda: counted.extend(asyncio.run(count_many())))
    loop_thread.start()
    loop_thread.join(timeout=60)
    assert len(counted) == 20 and all(counted)
    opened = _connections_received() - before - 1  # the count's own connection to read the figure
    assert opened <= 8, f"{opened} Redis connections opened for 20 counts"
    assert not limits.allow("test", ip, limit=21), "the 22nd count in the window is refused"
    assert limits.count(("test", ip), ("test", other)) == [23, 1], "buckets counted apart, in one trip"
