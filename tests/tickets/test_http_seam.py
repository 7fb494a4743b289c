"""The adapters' one HTTP seam against a real local HTTP server: 429 + Retry-After, 5xx backoff, bad bodies."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.tickets.sources.base import SourceError, TransientSourceError
from apps.tickets.sources.http import SourceHttp, retry_after_seconds


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next (status, headers, body) of its script, and records the requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[dict[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **dict(self.headers)})
        status, headers, body = self.server.script.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Scripted]:
    httpd = Scripted()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client(server: Scripted, **kwargs: Any) -> tuple[SourceHttp, list[float]]:
    slept: list[float] = []
    http = SourceHttp(f"http://127.0.0.1:{server.server_address[1]}", sleep=slept.append, backoff=0.25, **kwargs)
    return http, slept


def test_429_waits_for_retry_after_then_succeeds(server: Scripted) -> None:
    server.script = [(429, {"Retry-After": "2"}, b""), (200, {"Content-Type": "application/json"}, b'{"ok": 1}')]
    http, slept = client(server, headers={"Authorization": "Bearer t"})
    assert http.json("GET", "/api/v2/tickets.json") == {"ok": 1}
    assert slept == [2.0] and len(server.seen) == 2 and server.seen[1]["Authorization"] == "Bearer t"


def test_5xx_backs_off_exponentially_and_gives_up_as_transient(server: Scripted) -> None:
    server.script = [(503, {}, b"down")] * 3 + [(200, {}, b"[]")]
    http, slept = client(server)
    assert http.json("GET", "/x") == []
    assert slept == [0.25, 0.5, 1.0]
    server.script = [(502, {}, b"")] * 4
    http, slept = client(server)
    with pytest.raises(TransientSourceError, match="answered 502 after 4 attempt"):
        http.request("GET", "/x")


def test_a_long_retry_after_is_not_slept_through(server: Scripted) -> None:
    server.script = [(429, {"Retry-After": "3600"}, b"")]
    http, slept = client(server)
    with pytest.raises(TransientSourceError, match="retry after 3600s"):
        http.request("GET", "/x")
    assert slept == []


def test_client_errors_and_malformed_bodies_are_clear(server: Scripted) -> None:
    server.script = [(401, {}, b'{"error": "Couldn\'t authenticate you"}'), (200, {}, b"<html>oops")]
    http, _ = client(server)
    with pytest.raises(SourceError, match=r"answered 401: .*authenticate"):
        http.request("GET", "/x")
    with pytest.raises(SourceError, match="not JSON"):
        http.json("GET", "/x")


def test_retry_after_accepts_http_dates() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", default=1) == 0.0
    assert retry_after_seconds("nonsense", default=1.5) == 1.5
