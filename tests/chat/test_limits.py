"""The chat's rate limits keep one Redis connection pool for the process, whatever thread or context counts."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import sync_to_async
from django.core.cache import caches

from apps.chat import limits


def _connections_received() -> int:
    client = caches.create_connection("default")._cache.get_client()  # type: ignore[attr-defined]
    return int(client.info("stats")["total_connections_received"])


def test_counting_from_many_threads_opens_no_connection_per_count() -> None:
    """Each chat call runs in a fresh context on a pool thread, where ``django.core.cache.cache`` is a new
    client: counting there opened a Redis connection per visitor's connect and message."""

    async def count_many() -> list[bool]:
        count = sync_to_async(limits.allow, thread_sensitive=False)
        return await asyncio.gather(*(count("test", "10.9.0.1", limit=100) for _ in range(20)))

    limits.allow("test", "10.9.0.1", limit=100)  # the process's pool has its first connection
    before = _connections_received()
    counted: list[bool] = []
    # A thread of its own, like the server's event loop: its context never held the cache client.
    loop_thread = threading.Thread(target=lambda: counted.extend(asyncio.run(count_many())))
    loop_thread.start()
    loop_thread.join(timeout=60)
    assert len(counted) == 20 and all(counted)
    opened = _connections_received() - before
    assert opened <= 8, f"{opened} Redis connections opened for 20 counts"
    assert not limits.allow("test", "10.9.0.1", limit=21), "the 22nd count in the window is refused"
