"""A real local HTTP server that replays recorded request/response pairs of a vendor's API.

A recording (``tests/tickets/recorded/<vendor>/<name>.json``) is a list of exchanges, answered in
order. Each request must match its recording (method, path, the recorded query parameters, headers
and JSON body); a request that does not is answered 418 with what was expected, and ``check()``
fails the test. ``{base}`` in a recorded response is the server's own URL (for next-page links).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RECORDINGS = Path(__file__).parent / "recorded"


class Replay(ThreadingHTTPServer):
    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.exchanges = list(exchanges)
        self.seen: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)
        assert not self.exchanges, f"{len(self.exchanges)} recorded exchange(s) never requested: {self.exchanges[0]}"

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = dict(parse_qsl(body.decode(errors="replace")))
        with self.lock:
            self.seen.append({"method": method, "path": parts.path, "query": query, "headers": headers, "json": parsed})
            if not self.exchanges:
                self.problems.append(f"unexpected {method} {target}: the recording is exhausted")
                return 418, {}, b"recording exhausted"
            expected = self.exchanges[0]["request"]
            mismatch = _mismatch(expected, method, parts.path, query, headers, parsed)
            if mismatch:
                self.problems.append(f"{method} {target}: {mismatch}")
                return 418, {}, mismatch.encode()
            response = self.exchanges.pop(0)["response"]
        raw = response["body"] if "body" in response else json.dumps(response.get("json"))
        raw = raw.replace("{base}", self.url)
        out_headers = {k: v.replace("{base}", self.url) for k, v in response.get("headers", {}).items()}
        if "json" in response:
            out_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return int(response.get("status", 200)), out_headers, raw.encode()


def _mismatch(
    expected: dict[str, Any], method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
) -> str:
    if expected.get("method", "GET") != method or expected["path"] != path:
        return f"expected {expected.get('method', 'GET')} {expected['path']}"
    for name, value in expected.get("query", {}).items():
        if query.get(name) != value:
            return f"query {name}={query.get(name)!r}, recorded {value!r}"
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, value in expected.get("headers", {}).items():
        if lowered.get(name.lower()) != value:
            return f"header {name}: {lowered.get(name.lower())!r}, recorded {value!r}"
    if "json" in expected and body != expected["json"]:
        return f"body {json.dumps(body)} differs from the recorded {json.dumps(expected['json'])}"
    if "json_subset" in expected and not _contains(body, expected["json_subset"]):
        return f"body {json.dumps(body)} does not contain the recorded {json.dumps(expected['json_subset'])}"
    for text in expected.get("body_contains", []):
        if text not in json.dumps(body):
            return f"body does not contain {text!r}"
    return ""


def _contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual``: every key it names has the recorded value (recursively)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in expected.items())
    return bool(actual == expected)


class _Handler(BaseHTTPRequestHandler):
    server: Replay

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, raw = self.server.answer(self.command, self.path, dict(self.headers), body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:
        pass


def load(vendor: str, name: str) -> list[dict[str, Any]]:
    data = json.loads((RECORDINGS / vendor / f"{name}.json").read_text())
    return list(data["exchanges"])


@contextmanager
def replaying(vendor: str, *names: str) -> Iterator[Replay]:
    """Serve the named recordings one after the other; the test fails if any was not followed exactly."""
    exchanges = [exchange for name in names for exchange in load(vendor, name)]
    server = Replay(exchanges)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
