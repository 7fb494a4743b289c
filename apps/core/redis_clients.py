"""One synchronous Redis client, and so one connection pool, per Redis URL for the whole process.

A client built per call (Django's ``cache`` is one per context, and every call on a pool thread runs in a
fresh context) opens a connection per call; these are shared by every thread, and redis-py's pool is
thread-safe.
"""

from __future__ import annotations

import functools

import redis


@functools.cache
def shared_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)
