"""Fixed-window rate limits in Redis (Django's cache), shared by every web process."""

from __future__ import annotations

import time

from django.core.cache import cache


def allow(scope: str, key: str, *, limit: int, window: int = 60) -> bool:
    """Count one event for ``key``; False once more than ``limit`` happened in the current window."""
    bucket = f"chat:rl:{scope}:{key}:{int(time.time() // window)}"
    cache.add(bucket, 0, timeout=window + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        count = 1
    return count <= limit
