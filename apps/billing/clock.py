"""How long an operator worked on a ticket before replying: from opening its page to sending the message.

Opening a ticket's page starts the operator's clock for that ticket (the first opening counts; reloading the page
does not restart it); the reply or note they send stops it, and the time between is the record's measured time.
No clock (the message came through the API, or the page was opened more than ``LIMIT`` ago) measures nothing:
the record is kept with no time, never an invented one. The clocks live in Redis with that lifetime.
"""

from __future__ import annotations

import time
from uuid import UUID

import redis
import structlog
from django.conf import settings
from django.db import connection

from apps.core.redis_clients import shared_client

log = structlog.get_logger(__name__)
LIMIT = 2 * 3600  # a page left open longer than two hours is not one piece of work


def _key(ticket_id: UUID | str, user_id: UUID | str) -> str:
    schema = connection.schema_name  # type: ignore[attr-defined]
    return f"gaby:billing:clock:{schema}:{ticket_id}:{user_id}"


def start(ticket_id: UUID | str, user_id: UUID | str, *, now: float | None = None) -> None:
    """Start the clock unless it runs already. Redis being down costs the measurement, never the page."""
    moment = time.time() if now is None else now
    try:
        shared_client(settings.REDIS_URL).set(_key(ticket_id, user_id), f"{moment:.3f}", ex=LIMIT, nx=True)
    except redis.RedisError as exc:
        log.warning("billing_clock_unavailable", error=str(exc))


def stop(ticket_id: UUID | str, user_id: UUID | str, *, now: float | None = None) -> tuple[float, float] | None:
    """(started, stopped) as Unix times, and the clock removed; None when no clock ran (or Redis is down: the
    reply is stored all the same, with no time measured)."""
    try:
        raw = shared_client(settings.REDIS_URL).getdel(_key(ticket_id, user_id))
    except redis.RedisError as exc:
        log.warning("billing_clock_unavailable", error=str(exc))
        return None
    if raw is None:
        return None
    stopped = time.time() if now is None else now
    started = float(raw)
    return started, max(started, stopped)
