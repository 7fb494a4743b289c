"""Where the widget consumer's synchronous work runs, and how Gaby's tokens reach the sockets.

The consumer's database work and retrieval are synchronous; they run on the chat's
own thread pool (``GABY_CHAT_THREADS`` threads), neither on Channels' single thread for thread-sensitive
code (every visitor would queue behind every other) nor on asyncio's default executor (``cores + 4``
threads: a burst of questions would queue behind each other). A thread holds at most one database
connection, so the pool size also bounds the chat's connections. Those connections stay open between
calls (``CHAT_CONNECTION_MAX_AGE``), unlike a request's: the threads live as long as the process, and
opening a PostgreSQL connection for every visitor's hello, message and answer (a server process forked
each time) cost more than the work itself under load. A connection with errors, or one left outside
autocommit, is still checked and closed as Django does between requests.

The model's stream is not read here but on the event loop (``LLMGateway.streaming``): an answer waiting
for its model holds no thread, and the pool only runs the short stretches of database work around it
(``tenant_runner``). Holding a thread per waiting answer meant dozens of threads contending for the GIL
with the event loop, which then answered every socket late.

Tokens: the visitor's own socket gets each piece straight from the loop reading the model, in this process;
everyone else on the conversation (operators shadowing it, the visitor's other tabs) gets the same text
through the channel layer in batches at most ``SHADOW_BATCH_SECONDS`` apart, so a thousand answers being
written do not cost a Redis round trip per word.
"""

from __future__ import annotations

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


def _in_schema(tenant: Any, func: Callable[[], T]) -> T:
    connection.close_if_unusable_or_obsolete()  # errors, a broken transaction state, or idle too long
    try:
        with tenant_context(tenant):
            return func()
    finally:
        if connection.connection is not None:
            connection.close_at = time.monotonic() + CHAT_CONNECTION_MAX_AGE  # kept for this thread's next call


def tenant_runner(tenant: Any) -> Callable[[Callable[[], T]], Awaitable[T]]:
    """``run(func)``: ``func()`` on the chat's thread pool inside ``tenant``'s schema, awaited from the event loop."""
    work = sync_to_async(_in_schema, thread_sensitive=False, executor=pool())

    async def run(func: Callable[[], T]) -> T:
        return await work(tenant, func)

    return run


def in_tenant_pool(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Like ``apps.core.channels.in_tenant`` (the consumer's schema; connections closed as Django's settings say),
    but on the chat's thread pool: a thousand visitors' answers must not wait for each other in one queue."""

    @functools.wraps(func)
    async def run(self: Any, *args: Any, **kwargs: Any) -> T:
        return await tenant_runner(self.scope["tenant"])(functools.partial(func, self, *args, **kwargs))

    return run


class TokenRelay:
    """``on_token`` for one answer, awaited on the server's event loop as the model's stream is read there:
    each piece to the visitor's socket at once, and batched copies to the conversation group (operators
    shadowing it, the visitor's other tabs) at most ``SHADOW_BATCH_SECONDS`` apart.

    ``send_own`` is the consumer's ``send_json``. A visitor who left mid-answer stops getting pieces; the
    answer is still written, stored and shown to operators. Call ``flush`` before the stored answer is
    announced, so the shadows have every piece first.
    """

    def __init__(
        self,
        send_own: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        conversation_id: uuid.UUID,
        schema: str,
        stream: str,
    ) -> None:
        self.send_own = send_own
        self.conversation_id, self.schema, self.stream = conversation_id, schema, stream
        self.pending: list[str] = []
        self.sent_at = 0.0
        self.own_socket_open = True

    async def __call__(self, piece: str) -> None:
        if self.own_socket_open:
            try:
                await self.send_own({"type": "token", "stream": self.stream, "text": piece})
            except Exception:  # the visitor left: the answer is still written, stored and shown to operators
                self.own_socket_open = False
                log.info("chat visitor socket gone mid-answer", exc_info=True)
        self.pending.append(piece)
        if time.monotonic() - self.sent_at >= SHADOW_BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Send the shadows what they have not seen yet (handed to the publisher: never waits for Redis)."""
        if self.pending:
            text, self.pending = "".join(self.pending), []
            live.send(self.conversation_id, {"type": "token", "stream": self.stream, "text": text}, schema=self.schema)
            self.sent_at = time.monotonic()
