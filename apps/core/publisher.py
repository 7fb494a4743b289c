"""Publishing to channel groups from synchronous code on one long-lived event loop per process.

``async_to_sync(layer.group_send)`` starts a fresh thread and event loop for every call, and channels_redis
keeps its connection pool per loop, so each live update paid for a thread, a loop and a new Redis
connection for every event, several times per investigation step.

Here one daemon thread runs one loop for the process (started on first use, again after a fork) with one
sender that sends what it is handed, in order. ``group_send`` only hands the event over, so the caller never
waits for Redis; a live update is a courtesy (the change it describes is committed, and a page shows it on
reload), so a failed send is logged, not raised. ``flush`` waits until everything handed over before it has
left (a marker in the queue, so other threads' later events never prolong the wait): a unit of work that
announces several events (an investigation) calls it once at its end, and tests call it so no event of
theirs reaches the next test.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer

SEND_TIMEOUT_SECONDS = 5.0  # a live update is a courtesy: never hold anything for long
log = logging.getLogger(__name__)
_Event = tuple[Any, str, dict[str, Any]]  # (channel layer, group, message)


class _Publisher:
    """The process's loop, its thread and the queue its one sender drains."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[_Event | concurrent.futures.Future[None]] = asyncio.Queue()
        started = threading.Event()
        self.loop.call_soon(started.set)
        threading.Thread(target=self._run, name="gaby-publisher", daemon=True).start()
        started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._sender())
        self.loop.run_forever()

    async def _sender(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, concurrent.futures.Future):
                item.set_result(None)  # a flush marker: everything before it has been sent
                continue
            layer, group, message = item
            try:
                await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)
            except Exception:
                log.warning("live event not sent", exc_info=True)

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.loop.is_running()


_lock = threading.Lock()
_publisher: _Publisher | None = None


def _current() -> _Publisher:
    global _publisher
    with _lock:
        if _publisher is None or not _publisher.alive():
            _publisher = _Publisher()
        return _publisher


def group_send(group: str, message: dict[str, Any]) -> None:
    """Hand ``message`` for ``group`` to the default channel layer's sender; returns at once."""
    layer = get_channel_layer()
    if layer is None:
        return
    publisher = _current()
    publisher.loop.call_soon_threadsafe(publisher.queue.put_nowait, (layer, group, message))


def flush(timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """Wait (at most ``timeout``) until every event handed over so far in this process has been sent."""
    publisher = _publisher
    if publisher is None or not publisher.alive():
        return
    marker: concurrent.futures.Future[None] = concurrent.futures.Future()
    publisher.loop.call_soon_threadsafe(publisher.queue.put_nowait, marker)
    try:
        marker.result(timeout)
    except Exception:  # a stuck Redis must not hold the caller: the events are courtesy
        log.warning("live events not flushed", exc_info=True)


atexit.register(flush)  # a command that announced something exits after its events left
