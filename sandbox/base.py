"""The HTTP plumbing both stand-ins share: a threaded server, a request log and injected faults.

A vendor stand-in subclasses ``Sandbox`` and implements ``handle(request) -> Response``; faults queued
with ``fail_next`` are answered before ``handle`` runs, so a test can make the next matching request
return a 429, a 503 or a body that is not JSON, exactly once (or ``times`` times).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def form(self) -> dict[str, list[str]]:
        """An application/x-www-form-urlencoded body, every value kept (``expand[]=a&expand[]=b``)."""
        parsed: dict[str, list[str]] = {}
        for key, value in parse_qsl(self.body.decode(), keep_blank_values=True):
            parsed.setdefault(key, []).append(value)
        return parsed

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    status: int
    path: str | None  # a prefix of the request path; None matches any request
    method: str | None
    headers: dict[str, str]
    body: Any
    times: int


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int


class Sandbox:
    """Start with ``start()`` (returns the base URL) or as a context manager; ``stop()`` ends it."""

    name = "sandbox"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Logged] = []
        self._faults: list[Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()  # kept-alive client connections, closed by stop()
        self.tls: ssl.SSLContext | None = None  # set before start() to serve HTTPS (a vendor SDK that insists on it)
        self.base_url = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            return self.base_url
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def setup(self) -> None:
                if sandbox.tls is not None:  # the handshake runs in this connection's thread, not the accept loop
                    self.request = sandbox.tls.wrap_socket(self.request, server_side=True)
                super().setup()
                with sandbox.lock:
                    sandbox._connections.add(self.connection)

            def finish(self) -> None:
                with sandbox.lock:
                    sandbox._connections.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the request log is in memory
                return

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=_query(split.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = sandbox.dispatch(request)
                payload = response.encoded()
                self.send_response(response.status)
                content_type = "application/json" if not isinstance(response.body, bytes) else "text/html"
                headers = {"Content-Type": content_type, **response.headers, "Content-Length": str(len(payload))}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = _Server((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-sandbox", daemon=True)
        self._thread.start()
        scheme = "https" if self.tls is not None else "http"
        self.base_url = f"{scheme}://{host}:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        """Stop listening and drop kept-alive connections: to a client the vendor is gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- faults and the request log ------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        *,
        path: str | None = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``path`` (a prefix) and ``method`` with this response.

        ``body=b"<html>..."`` sends a body that is not JSON; with no body a vendor-shaped error is sent.
        """
        with self.lock:
            self._faults.append(Fault(status, path, method, headers or {}, body, times))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Logged]:
        """Requests received, optionally those with this method and path prefix."""
        with self.lock:
            return [
                logged
                for logged in self.requests
                if (method is None or logged.method == method) and (path is None or logged.path.startswith(path))
            ]

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            response = self._fault_for(request) or self._handle_safely(request)
            self.requests.append(
                Logged(request.method, request.path, request.query, request.headers, request.body, response.status)
            )
            return response

    def _handle_safely(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in the stand-in must show up as a 500, not a hung test
            return Response(500, self.error_body(500, f"sandbox error: {exc!r}"))

    def _fault_for(self, request: Request) -> Response | None:
        for fault in self._faults:
            if (fault.path is None or request.path.startswith(fault.path)) and (
                fault.method is None or fault.method == request.method
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                body = fault.body if fault.body is not None else self.error_body(fault.status, "injected fault")
                return Response(fault.status, body, dict(fault.headers))
        return None

    # --- for subclasses --------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # listen backlog: a burst of clients (a benchmark) is queued, not reset (default 5)


def _query(raw: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parsed.setdefault(key, []).append(value)
    return parsed


def serve_from_command_line(sandbox: Sandbox, *, description: str, default_port: int) -> None:
    """``python -m sandbox.<vendor> [--port N]``: serve a stand-in for a demo until Ctrl-C."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=default_port)
    options = parser.parse_args()
    print(sandbox.start(port=options.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()
