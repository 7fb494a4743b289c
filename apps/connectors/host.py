"""Gaby's MCP host: one event loop per worker process that keeps MCP sessions open and reuses them.

Django views and Celery tasks are synchronous; MCP sessions (official ``mcp`` SDK) live on an asyncio
loop. This module runs that loop in one daemon thread per process and keeps a small pool of open
sessions keyed by the server's spec (a changed configuration is a new key), so an investigation's tenth
tool call does not start the server again. Each session:

- is owned by one task that enters the SDK ``Client`` and holds it open until closed, so the stdio
  subprocess is started and terminated by the SDK's own supervision (close stdin, SIGTERM, SIGKILL);
- sends the server's stderr line by line to the logs (and keeps the last lines for error messages);
- limits concurrent calls (a semaphore) and bounds each call with a timeout;
- when it breaks (server exited, connection closed), is dropped; the next use restarts it, the first
  restart at once, later ones after an exponential backoff, so a crashing server is not hammered.

Nothing here touches the database: services.py turns connectors into ``ServerSpec`` and records events.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import hashlib
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar, cast

import httpx2
import mcp_types
import structlog
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from apps.core import outbound_http

log = structlog.get_logger(__name__)
T = TypeVar("T")

STDERR_TAIL_LINES = 20


class ConnectorError(Exception):
    """A tool call or connection failed; the message is written for the admin who has to fix it."""


class ConnectorUnavailable(ConnectorError):
    """The server cannot be reached now (not started, exited, refused, backing off)."""


class ToolCallTimeout(ConnectorError):
    """The server did not answer within the connector's timeout."""


@dataclass(frozen=True)
class ServerSpec:
    """Everything needed to reach one MCP server; secrets included, so never log or render it."""

    label: str  # for logs and messages: "<schema>/<connector name>"
    transport: str  # "stdio" | "http"
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    connect_timeout: float = 30.0
    call_timeout: float = 30.0
    max_concurrency: int = 4

    @property
    def key(self) -> str:
        """Pool key: a digest of the whole spec, so a configuration change opens a fresh session."""
        raw = json.dumps(
            [self.label, self.transport, self.command, self.args, self.env, self.cwd, self.url, self.headers]
        )
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class ToolInfo:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    read_only_hint: bool | None
    destructive_hint: bool | None


@dataclass(frozen=True)
class CallOutcome:
    text: str
    structured: Any
    is_error: bool
    truncated: bool
    elapsed_ms: float


@dataclass
class _Backoff:
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""
    incidents: list[str] = field(default_factory=list)  # drained into ConnectorEvents by services


class _StderrPump:
    """A pipe handed to the subprocess as stderr; a thread logs each line and keeps the tail."""

    def __init__(self, label: str) -> None:
        read_fd, write_fd = os.pipe()
        self.writer: TextIO = os.fdopen(write_fd, "w")
        self._reader = os.fdopen(read_fd, "r", errors="replace")
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._label = label
        self.eof = threading.Event()  # set when the child's stderr closed: the process has exited
        threading.Thread(target=self._pump, name=f"mcp-stderr-{label}", daemon=True).start()

    def _pump(self) -> None:
        with self._reader:
            for line in self._reader:
                line = line.rstrip()
                if line:
                    self.tail.append(line)
                    log.info("mcp_server_stderr", connector=self._label, line=line[:2000])
        self.eof.set()

    def close_parent_end(self) -> None:
        """Once the child holds the pipe, our copy must go, or EOF never comes when the child exits."""
        if not self.writer.closed:
            self.writer.close()


# The MCP transports' own defaults: 30 s, and 300 s to read a stream the server holds open; redirects are left
# off (the transport follows them within the endpoint's origin itself, each hop through the pinned transport).
MCP_HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)


def mcp_http_client(headers: tuple[tuple[str, str], ...]) -> httpx2.AsyncClient:
    """The client an MCP server over HTTP is reached with: every request, redirects included, obeys the
    outbound-URL policy and connects to the address it checked (apps/core/outbound_http.py)."""
    return httpx2.AsyncClient(
        # The same transport interface under httpx2's names (see apps/core/outbound_http.py).
        transport=cast("httpx2.AsyncBaseTransport", outbound_http.AsyncPinnedTransport(http=httpx2)),
        headers=dict(headers) or None,
        timeout=MCP_HTTP_TIMEOUT,
    )


class _Session:
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.client: Client | None = None
        self.broken = False
        self.semaphore = asyncio.Semaphore(spec.max_concurrency)
        self.stderr: _StderrPump | None = None
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._owner: asyncio.Task[None] | None = None

    def _transport(self) -> Any:
        spec = self.spec
        if spec.transport == "stdio":
            self.stderr = _StderrPump(spec.label)
            params = StdioServerParameters(command=spec.command, args=list(spec.args), env=dict(spec.env), cwd=spec.cwd)
            return stdio_client(params, errlog=self.stderr.writer)
        return streamable_http_client(spec.url, http_client=mcp_http_client(spec.headers))

    async def _own(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                target = self._transport()
                client = Client(
                    target,
                    read_timeout_seconds=self.spec.call_timeout,
                    client_info=mcp_types.Implementation(name="gaby", version="0.1"),
                    cache=None,
                )
                await stack.enter_async_context(client)
                if self.stderr is not None:
                    self.stderr.close_parent_end()
                self.client = client
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # the owner task must record every way the session ends
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else ConnectorUnavailable(str(exc)))
            else:
                log.warning("mcp_session_ended", connector=self.spec.label, error=repr(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            if self.stderr is not None:
                self.stderr.close_parent_end()
            self.client = None
            self.broken = True

    async def start(self) -> None:
        self._owner = asyncio.get_running_loop().create_task(self._own())
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout=self.spec.connect_timeout)
        except TimeoutError:
            await self.close()
            raise ConnectorUnavailable(
                f"{self.spec.label}: the server did not finish the MCP handshake within {self.spec.connect_timeout:g}s."
            ) from None
        except Exception as exc:
            await self.close()
            raise ConnectorUnavailable(self.describe_failure(exc)) from exc

    def describe_failure(self, exc: BaseException) -> str:
        """A message an admin can act on: what failed, plus the server's last stderr lines."""
        spec = self.spec
        if isinstance(exc, FileNotFoundError):
            reason = f"the command {spec.command!r} was not found on the Gaby host"
        elif isinstance(exc, PermissionError):
            reason = f"the command {spec.command!r} is not executable"
        elif isinstance(exc, MCPError) and exc.code == mcp_types.CONNECTION_CLOSED:
            reason = "the server closed the connection (it exited or crashed)"
        elif isinstance(exc, MCPError):
            reason = f"the server answered with an error: {exc.message}"
        elif isinstance(exc, BaseExceptionGroup):
            inner = exc.exceptions[0] if exc.exceptions else exc
            return self.describe_failure(inner)
        else:
            reason = str(exc) or type(exc).__name__
            if spec.transport == "http":
                reason = f"could not reach {spec.url}: {reason}"
        tail = " | ".join(self.stderr.tail) if self.stderr and self.stderr.tail else ""
        suffix = f" (server stderr: {tail[-1000:]})" if tail else ""
        return f"{spec.label}: {reason}{suffix}"

    @property
    def usable(self) -> bool:
        """Open and, for a subprocess, still alive (its stderr closes when it exits; nothing was sent yet)."""
        if self.broken or self.client is None:
            return False
        return not (self.stderr is not None and self.stderr.eof.is_set())

    async def close(self) -> None:
        self._stop.set()
        owner = self._owner
        if owner is not None and not owner.done():
            try:
                await asyncio.wait_for(asyncio.shield(owner), timeout=10)
            except Exception:  # TimeoutError included
                owner.cancel()
        self.broken = True


@dataclass
class Host:
    """The per-process pool of MCP sessions; use ``host()`` to get the process's instance."""

    restart_backoff_base: float = 1.0
    restart_backoff_max: float = 60.0
    max_sessions: int = 64
    _loop: asyncio.AbstractEventLoop = field(init=False)
    _sessions: collections.OrderedDict[str, _Session] = field(init=False, default_factory=collections.OrderedDict)
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
    async def _session(self, spec: ServerSpec) -> _Session:
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
            session = _Session(spec)
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
                tools.extend(_tool_info(tool) for tool in page.tools)
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


def _tool_info(tool: mcp_types.Tool) -> ToolInfo:
    annotations = tool.annotations
    return ToolInfo(
        name=tool.name,
        title=(tool.title or (annotations.title if annotations else None) or ""),
        description=tool.description or "",
        input_schema=dict(tool.input_schema),
        read_only_hint=annotations.read_only_hint if annotations else None,
        destructive_hint=annotations.destructive_hint if annotations else None,
    )


def render_content(result: mcp_types.CallToolResult, *, max_chars: int) -> tuple[str, bool]:
    """Flatten a tool result to text for the investigation, capped at ``max_chars``."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        elif isinstance(block, mcp_types.EmbeddedResource):
            resource = block.resource
            body = getattr(resource, "text", None)
            parts.append(body if body is not None else f"[resource {resource.uri}]")
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, default=str))
    text = "\n".join(parts)
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars] + f"\n[… truncated: {len(text) - max_chars} more characters]", True


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
