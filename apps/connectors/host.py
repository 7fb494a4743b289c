"""Gaby's MCP host: one event loop per worker process that keeps MCP sessions open and reuses them.

Django views and Celery tasks are synchronous; MCP sessions (official ``mcp`` SDK) live on an asyncio
loop. This module runs that loop in one daemon thread per process and keeps a small pool of open
sessions keyed by the server's spec (a changed configuration is a new key), so an investigation's tenth
tool call does not start the server again. Each session (one ``Session`` of session.py, which owns the
SDK ``Client`` and the server's stderr):

- limits concurrent calls (a semaphore) and bounds each call with a timeout;
- when it breaks (server exited, connection closed), is dropped; the next use restarts it, the first
  restart at once, later ones after an exponential backoff, so a crashing server is not hammered.

What the host is given and gives back (``ServerSpec``, ``ToolInfo``, ``CallOutcome``, the errors) is in
calls.py. Nothing here touches the database: services.py turns connectors into ``ServerSpec`` and records
events.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import mcp_types
import structlog
from mcp import Client, MCPError

from apps.connectors.calls import (
    CallOutcome,
    ConnectorUnavailable,
    ServerSpec,
    ToolCallTimeout,
    ToolInfo,
    render_content,
    tool_info,
)

# Re-exported only for apps/connectors/views.py, which a parallel branch reworks: that branch moves its
# import to apps.connectors.calls, and this line goes with it.
from apps.connectors.calls import ConnectorError as ConnectorError
from apps.connectors.session import Session

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass
class _Backoff:
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""
    incidents: list[str] = field(default_factory=list)  # drained into ConnectorEvents by services


@dataclass
class Host:
    """The per-process pool of MCP sessions; use ``host()`` to get the process's instance."""

    restart_backoff_base: float = 1.0
    restart_backoff_max: float = 60.0
    max_sessions: int = 64
    _loop: asyncio.AbstractEventLoop = field(init=False)
    _sessions: collections.OrderedDict[str, Session] = field(init=False, default_factory=collections.OrderedDict)
    _backoff: dict[str, _Backoff] = field(init=False, default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.call_soon(started.set)
            self._loop.run_forever()

        threading.Thread(target=run, name="gaby-mcp-host", daemon=True).start()
        started.wait()

    # --- sync entry points (called from Django / Celery threads) ---------------------------------
    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise ToolCallTimeout(f"No answer within {timeout:g}s.") from None

    def list_tools(self, spec: ServerSpec) -> list[ToolInfo]:
        return self.run(self._list_tools(spec), timeout=spec.connect_timeout + spec.call_timeout + 5)

    def call_tool(self, spec: ServerSpec, name: str, arguments: dict[str, Any], *, max_chars: int) -> CallOutcome:
        return self.run(
            self._call_tool(spec, name, arguments, max_chars=max_chars),
            timeout=spec.connect_timeout + spec.call_timeout + 5,
        )

    def ping(self, spec: ServerSpec) -> float:
        """Round-trip a cheap request (tools/list) through the session, reconnecting if needed; milliseconds."""
        return self.run(self._ping(spec), timeout=spec.connect_timeout + spec.call_timeout + 5)

    def close(self, spec: ServerSpec) -> None:
        self.run(self._close_key(spec.key), timeout=15)

    def shutdown(self) -> None:
        """Close every session (terminating stdio servers); registered with atexit."""
        if self._loop.is_closed() or not self._loop.is_running():
            return
        try:
            self.run(self._close_all(), timeout=20)
        except Exception:  # shutting down anyway; the SDK kills its process groups on loop exit
            log.warning("mcp_host_shutdown_incomplete")

    # --- the loop side ---------------------------------------------------------------------------
    async def _session(self, spec: ServerSpec) -> Session:
        key = spec.key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            session = self._sessions.get(key)
            if session is not None and session.usable:
                self._sessions.move_to_end(key)
                return session
            if session is not None:
                await self._drop(key, reason="the server process exited or the connection was lost")
                self._note_failure(key, "the server process exited or the connection was lost")
            backoff = self._backoff.setdefault(key, _Backoff())
            wait = backoff.retry_at - time.monotonic()
            if wait > 0:
                raise ConnectorUnavailable(
                    f"{spec.label} is restarting after {backoff.failures} failure(s); next attempt in {wait:.0f}s. "
                    f"Last error: {backoff.last_error}"
                )
            session = Session(spec)
            try:
                await session.start()
            except ConnectorUnavailable as exc:
                self._note_failure(key, str(exc))
                raise
            backoff.failures = 0
            backoff.retry_at = 0.0
            self._sessions[key] = session
            await self._evict_overflow()
            log.info("mcp_session_open", connector=spec.label, transport=spec.transport)
            return session

    def drain_incidents(self, spec: ServerSpec) -> list[str]:
        """What went wrong with this server since last asked (exits, failed restarts), oldest first."""
        backoff = self._backoff.get(spec.key)
        if backoff is None:
            return []
        incidents, backoff.incidents = backoff.incidents, []
        return incidents

    def _note_failure(self, key: str, message: str) -> None:
        backoff = self._backoff.setdefault(key, _Backoff())
        backoff.failures += 1
        backoff.last_error = message
        if len(backoff.incidents) < 50:
            backoff.incidents.append(message)
        # The first restart is immediate (a server that exited once usually comes back); then 1s, 2s, 4s...
        delay = 0.0 if backoff.failures <= 1 else self.restart_backoff_base * 2 ** (backoff.failures - 2)
        backoff.retry_at = time.monotonic() + min(delay, self.restart_backoff_max)

    async def _drop(self, key: str, *, reason: str) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            log.warning("mcp_session_dropped", connector=session.spec.label, reason=reason)
            await session.close()

    async def _evict_overflow(self) -> None:
        while len(self._sessions) > self.max_sessions:
            oldest = next(iter(self._sessions))
            await self._drop(oldest, reason="pool full (least recently used)")

    async def _close_key(self, key: str) -> None:
        await self._drop(key, reason="closed")
        self._backoff.pop(key, None)

    async def _close_all(self) -> None:
        for key in list(self._sessions):
            await self._drop(key, reason="shutdown")

    async def _with_session(self, spec: ServerSpec, work: Callable[[Client], Awaitable[T]]) -> T:
        session = await self._session(spec)
        try:
            async with asyncio.timeout(spec.call_timeout):
                async with session.semaphore:
                    client = session.client
                    if client is None:
                        raise ConnectorUnavailable(f"{spec.label}: the server connection was lost.")
                    return await work(client)
        except TimeoutError:
            raise ToolCallTimeout(f"{spec.label} did not answer within {spec.call_timeout:g}s.") from None
        except MCPError as exc:
            if exc.code in (mcp_types.CONNECTION_CLOSED,) or session.broken:
                self._note_failure(spec.key, exc.message)
                await self._drop(spec.key, reason=exc.message)
                raise ConnectorUnavailable(session.describe_failure(exc)) from exc
            raise
        except (OSError, EOFError, RuntimeError, BaseExceptionGroup) as exc:
            message = session.describe_failure(exc)
            self._note_failure(spec.key, message)
            await self._drop(spec.key, reason=message)
            raise ConnectorUnavailable(message) from exc

    async def _list_tools(self, spec: ServerSpec) -> list[ToolInfo]:
        async def work(client: Client) -> list[ToolInfo]:
            tools: list[ToolInfo] = []
            cursor: str | None = None
            for _page in range(100):  # a server paginating forever cannot hang us
                page = await client.list_tools(cursor=cursor, cache_mode="refresh")
                tools.extend(tool_info(tool) for tool in page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
            return tools

        return await self._with_session(spec, work)

    async def _ping(self, spec: ServerSpec) -> float:
        started = time.perf_counter()

        async def work(client: Client) -> None:
            await client.list_tools(cache_mode="refresh")

        await self._with_session(spec, work)
        return (time.perf_counter() - started) * 1000

    async def _call_tool(
        self, spec: ServerSpec, name: str, arguments: dict[str, Any], *, max_chars: int
    ) -> CallOutcome:
        started = time.perf_counter()

        async def work(client: Client) -> mcp_types.CallToolResult:
            return await client.call_tool(name, arguments, read_timeout_seconds=spec.call_timeout)

        try:
            result = await self._with_session(spec, work)
        except MCPError as exc:  # a protocol-level refusal (unknown tool, invalid params): the server's words
            return CallOutcome(
                text=f"{spec.label} refused the call: {exc.message}",
                structured=None,
                is_error=True,
                truncated=False,
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        text, truncated = render_content(result, max_chars=max_chars)
        return CallOutcome(
            text=text,
            structured=result.structured_content,
            is_error=result.is_error,
            truncated=truncated,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )


_host: Host | None = None
_host_lock = threading.Lock()


def host() -> Host:
    """This process's host, created on first use (the worker's, the web server's, a test's)."""
    global _host
    with _host_lock:
        if _host is None:
            from django.conf import settings

            _host = Host(
                restart_backoff_base=settings.CONNECTOR_RESTART_BACKOFF_BASE,
                restart_backoff_max=settings.CONNECTOR_RESTART_BACKOFF_MAX,
                max_sessions=settings.CONNECTOR_MAX_SESSIONS,
            )
            atexit.register(_host.shutdown)
        return _host
