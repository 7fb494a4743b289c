"""Fixed-window rate limits in Redis (Django's cache), shared by every web process."""

from __future__ import annotations

import functools
import time

from django.core.cache import BaseCache, caches


@functools.cache
def _counters() -> BaseCache:
    """One cache client (and Redis connection pool) for the process. ``django.core.cache.cache`` is context-local:
    each call on a chat thread runs in a fresh context, so it built a new client and opened a new Redis
    connection for every connect and every message."""
    return caches.create_connection("default")


def allow(scope: str, key: str, *, limit: int, window: int = 60) -> bool:
    """Count one event for ``key``; False once more than ``limit`` happened in the current window."""
    counters = _counters()
    bucket = f"chat:rl:{scope}:{key}:{int(time.time() // window)}"
    counters.add(bucket, 0, timeout=window + 5)
    try:
        count = counters.incr(bucket)
    except ValueError:  # expired between add and incr
        counters.set(bucket, 1, timeout=window + 5)
        count = 1
    return count <= limit
