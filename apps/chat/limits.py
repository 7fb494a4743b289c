"""Fixed-window rate limits in Redis, shared by every web process."""

from __future__ import annotations

import time

from django.conf import settings

from apps.core.redis_clients import shared_client


def count(*buckets: tuple[str, str], window: int = 60) -> list[int]:
    """Count one event in each ``(scope, key)`` bucket of the current window, in one Redis round trip; returns
    each bucket's count so far."""
    slot = int(time.time() // window)
    pipe = shared_client(settings.REDIS_URL).pipeline(transaction=False)
    for scope, key in buckets:
        name = f"{settings.REDIS_KEY_PREFIX}:chat:rl:{scope}:{key}:{slot}"
        pipe.incr(name)
        pipe.expire(name, window + 5)
    return [int(n) for n in pipe.execute()[::2]]


def allow(scope: str, key: str, *, limit: int, window: int = 60) -> bool:
    """Count one event for ``key``; False once more than ``limit`` happened in the current window."""
    return count((scope, key), window=window)[0] <= limit
