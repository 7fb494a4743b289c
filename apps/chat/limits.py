"""Fixed-window rate limits in Redis (the cache's database), shared by every web process."""

from __future__ import annotations

import functools
import time

import redis
from django.conf import settings


@functools.cache
def _redis() -> redis.Redis:
    """One client (and connection pool) for the process. Django's ``cache`` is context-local: each call on a
    chat thread runs in a fresh context, so counting through it built a client and opened a Redis connection
    for every visitor's connect and message."""
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])  # cleared with the cache


def count(*buckets: tuple[str, str], window: int = 60) -> list[int]:
    """Count one event in each ``(scope, key)`` bucket of the current window, in one Redis round trip; returns
    each bucket's count so far."""
    slot = int(time.time() // window)
    pipe = _redis().pipeline(transaction=False)
    for scope, key in buckets:
        name = f"{settings.REDIS_KEY_PREFIX}:chat:rl:{scope}:{key}:{slot}"
        pipe.incr(name)
        pipe.expire(name, window + 5)
    return [int(n) for n in pipe.execute()[::2]]


def allow(scope: str, key: str, *, limit: int, window: int = 60) -> bool:
    """Count one event for ``key``; False once more than ``limit`` happened in the current window."""
    return count((scope, key), window=window)[0] <= limit
