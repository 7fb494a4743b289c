"""One MCP session: the task that owns an open ``Client`` of the official ``mcp`` SDK, on the host's loop.

The owner task enters the SDK ``Client`` and holds it open until closed, so a stdio subprocess is started
and terminated by the SDK's own supervision (close stdin, SIGTERM, SIGKILL). A stdio server's stderr goes
to the logs line by line, and its last lines go into the message when the session fails. An HTTP server
is reached through the outbound-URL policy (``mcp_http_client``). Pooling, timeouts and restarts are the
host's (host.py).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
from contextlib import AsyncExitStack
from typing import Any, TextIO, cast

import httpx2
import mcp_types
import structlog
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from apps.connectors.calls import ConnectorUnavailable, ServerSpec
from apps.core import outbound_http

log = structlog.get_logger(__name__)

STDERR_TAIL_LINES = 20


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


class Session:
    """An MCP session to one server; ``start`` it on the host's loop, ``close`` it when dropped."""

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
