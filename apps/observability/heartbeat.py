"""Worker and beat heartbeats in Redis, and Celery's queue depth: what the status page and a scrape read.

A worker's main process writes ``<prefix>:observability:worker:<hostname>`` every ``HEARTBEAT_SECONDS`` (with a
time to live of three beats), from a thread that keeps beating while every pool child is busy; a stopped worker's
key expires on its own. Beat schedules ``observability.beat_heartbeat`` (gaby_site/conf/backends.py), which a
worker runs: its key being fresh proves the whole path (beat → broker → worker) moves. Reading them is two Redis
commands; nothing waits for a worker to answer a ping.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog
from celery import current_app as app
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from apps.core.redis_clients import shared_client

log = structlog.get_logger(__name__)
HEARTBEAT_SECONDS = 15.0
KEY_LIFETIME_SECONDS = int(HEARTBEAT_SECONDS * 3)
BEAT_KEY_LIFETIME_SECONDS = 300


def _key(*parts: str) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, "observability", *parts])


@dataclass(frozen=True)
class Beat:
    name: str
    age_seconds: float
    pid: int | None = None


def write_worker_beat(hostname: str) -> None:
    body = json.dumps({"at": time.time(), "pid": os.getpid()})
    shared_client(settings.REDIS_URL).set(_key("worker", hostname), body, ex=KEY_LIFETIME_SECONDS)


def write_beat_beat() -> None:
    shared_client(settings.REDIS_URL).set(_key("beat"), json.dumps({"at": time.time()}), ex=BEAT_KEY_LIFETIME_SECONDS)


def _beat_of(name: str, raw: bytes | str | None, now: float) -> Beat | None:
    if raw is None:
        return None
    body = json.loads(raw)
    return Beat(name=name, age_seconds=max(0.0, now - float(body["at"])), pid=body.get("pid"))


def worker_beats() -> list[Beat]:
    """Every worker that beat within the key's lifetime, by name."""
    client = shared_client(settings.REDIS_URL)
    prefix = _key("worker", "")
    keys = sorted(client.scan_iter(match=f"{prefix}*", count=100))
    now = time.time()
    beats = (
        [_beat_of(key.decode()[len(prefix) :], raw, now) for key, raw in zip(keys, client.mget(keys), strict=True)]
        if keys
        else []
    )
    return [beat for beat in beats if beat is not None]


def beat_beat() -> Beat | None:
    """When a worker last ran beat's heartbeat task, or None when none did lately."""
    return _beat_of("beat", shared_client(settings.REDIS_URL).get(_key("beat")), time.time())


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue Gaby sends to (the broker's own count, priorities included)."""
    depths: dict[str, int] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        channel: Any = conn.default_channel  # a kombu virtual channel: queue_declare(passive=True) counts
        for name in sorted(app.amqp.queues):
            try:
                depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
            except conn.channel_errors:
                depths[name] = 0  # nothing was ever queued there (Redis keeps no empty list)
    return depths


class _WorkerBeater(threading.Thread):
    def __init__(self, hostname: str) -> None:
        super().__init__(daemon=True, name="gaby-worker-heartbeat")
        self.hostname = hostname
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                write_worker_beat(self.hostname)
            except Exception:  # Redis away: the key expires and the status page says so; keep trying
                log.warning("worker_heartbeat_failed", exc_info=True)
            if self.stopped.wait(HEARTBEAT_SECONDS):
                return


_beater: _WorkerBeater | None = None


def _start(sender: Any = None, **_: Any) -> None:
    global _beater
    hostname = str(getattr(sender, "hostname", None) or "worker")
    _beater = _WorkerBeater(hostname)
    _beater.start()


def _stop(**_: Any) -> None:
    if _beater is None:
        return
    _beater.stopped.set()
    try:
        shared_client(settings.REDIS_URL).delete(_key("worker", _beater.hostname))
    except Exception:
        log.warning("worker_heartbeat_cleanup_failed", exc_info=True)


def connect() -> None:
    worker_ready.connect(_start, dispatch_uid="observability.worker_ready", weak=False)
    worker_shutdown.connect(_stop, dispatch_uid="observability.worker_shutdown", weak=False)
