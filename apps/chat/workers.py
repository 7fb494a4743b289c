"""Where the widget consumer's synchronous work runs, and how Gaby's tokens reach the sockets.

The consumer's database work, retrieval and the model's stream are synchronous; they run on the chat's
own thread pool (``GABY_CHAT_THREADS`` threads), neither on Channels' single thread for thread-sensitive
code (every visitor would queue behind every other) nor on asyncio's default executor (``cores + 4``
threads: a handful of model streams would hold all of them). A thread holds at most one database
connection, so the pool size also bounds the chat's connections. Those connections stay open between
calls (``CHAT_CONNECTION_MAX_AGE``), unlike a request's: the threads live as long as the process, and
opening a PostgreSQL connection for every visitor's hello, message and answer (a server process forked
each time) cost more than the work itself under load. A connection with errors, or one left outside
autocommit, is still checked and closed as Django does between requests.

Tokens: the visitor's own socket gets each piece straight from the answering thread, in this process;
everyone else on the conversation (operators shadowing it, the visitor's other tabs) gets the same text
through the channel layer in batches at most ``SHADOW_BATCH_SECONDS`` apart, so a thousand answers being
written do not cost a Redis round trip per word.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.chat import live

SHADOW_BATCH_SECONDS = 0.1
FLUSH_TIMEOUT_SECONDS = 10.0
CHAT_CONNECTION_MAX_AGE = 300.0  # seconds a chat thread keeps its idle PostgreSQL connection
T = TypeVar("T")
log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.CHAT_THREADS, thread_name_prefix="chat")
        return _pool


def in_tenant_pool(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Like ``tenants.channels.in_tenant`` (the consumer's schema; connections closed as Django's settings say),
    but on the chat's thread pool: a thousand visitors' answers must not wait for each other in one queue."""

    def run_in_schema(self: Any, *args: Any, **kwargs: Any) -> T:
        connection.close_if_unusable_or_obsolete()  # errors, a broken transaction state, or idle too long
        try:
            with tenant_context(self.scope["tenant"]):
                return func(self, *args, **kwargs)
        finally:
            if connection.connection is not None:
                connection.close_at = time.monotonic() + CHAT_CONNECTION_MAX_AGE  # kept for this thread's next call

    @functools.wraps(func)
    async def run(self: Any, *args: Any, **kwargs: Any) -> T:
        work = sync_to_async(run_in_schema, thread_sensitive=False, executor=pool())
        return await work(self, *args, **kwargs)

    return run


class TokenRelay:
    """``on_token`` for one answer: each piece to the visitor's socket now, batched copies to the conversation group.

    ``send_own`` is the consumer's async ``send_json`` and ``loop`` the server's event loop it runs on. The
    answering thread hands each piece to that loop and goes on without waiting for it to be written (waiting
    per piece held a chat thread for a loop round trip per word, and under load the threads ran out); an
    ``asyncio.Lock`` (first come, first served) keeps the pieces in order, and ``flush`` waits once, at the
    end, so every piece is on the socket before the stored answer is announced.
    """

    def __init__(self, send_own: Callable[[dict[str, Any]], Awaitable[None]], *, loop: asyncio.AbstractEventLoop,
                 conversation_id: uuid.UUID, schema: str, stream: str) -> None:  # fmt: skip
        self.send_own, self.loop = send_own, loop
        self.in_order = asyncio.Lock()
        self.conversation_id, self.schema, self.stream = conversation_id, schema, stream
        self.pending: list[str] = []
        self.sent_at = 0.0
        self.own_socket_open = True

    async def _send_own(self, frame: dict[str, Any] | None) -> None:
        async with self.in_order:
            if frame is None or not self.own_socket_open:
                return
            try:
                await self.send_own(frame)
            except Exception:  # the visitor left: the answer is still written, stored and shown to operators
                self.own_socket_open = False
                log.info("chat visitor socket gone mid-answer", exc_info=True)

    def __call__(self, piece: str) -> None:
        if self.own_socket_open:
            frame = {"type": "token", "stream": self.stream, "text": piece}
            asyncio.run_coroutine_threadsafe(self._send_own(frame), self.loop)
        self.pending.append(piece)
        if time.monotonic() - self.sent_at >= SHADOW_BATCH_SECONDS:
            self._send_to_group()

    def _send_to_group(self) -> None:
        if self.pending:
            text, self.pending = "".join(self.pending), []
            live.send(self.conversation_id, {"type": "token", "stream": self.stream, "text": text}, schema=self.schema)
            self.sent_at = time.monotonic()

    def flush(self) -> None:
        """Wait until the visitor's socket has every piece, and send the shadows what they have not seen yet
        (call before the answer's final message)."""
        try:
            asyncio.run_coroutine_threadsafe(self._send_own(None), self.loop).result(timeout=FLUSH_TIMEOUT_SECONDS)
        except Exception:  # a stuck socket must not keep the answer from being stored
            log.info("chat visitor socket slow to take the answer", exc_info=True)
        self._send_to_group()
