"""A small real REST API with its OpenAPI document, served on a free local port for the OpenAPI connector.

It checks a bearer token, records every request it receives (so a dry run can be proven to send nothing),
answers 429 with Retry-After once on /flaky and a malformed JSON body on /broken.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "tok-s3cret-123"
CUSTOMER_REF = {"$ref": "#/components/schemas/Customer"}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Acme Billing", "version": "1.0"},
    "servers": [{"url": "/v1"}],
    "components": {
        "schemas": {
            "Customer": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "email": {"type": "string"},
                    "plan": {"$ref": "#/components/schemas/Plan"},
                },
            },
            "Plan": {"type": "string", "enum": ["free", "pro"]},
            "Refund": {
                "type": "object",
                "required": ["amount"],
                "properties": {
                    "amount": {"type": "integer", "minimum": 1},
                    "reason": {"type": "string", "nullable": True},
                },
            },
        },
        "parameters": {
            "CustomerId": {"name": "customerId", "in": "path", "required": True, "schema": {"type": "string"}}
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/customers": {
            "get": {
                "operationId": "listCustomers",
                "summary": "List customers, optionally by email",
                "parameters": [{"name": "email", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/customers/{customerId}": {
            "parameters": [{"$ref": "#/components/parameters/CustomerId"}],
            "get": {
                "operationId": "getCustomer",
                "summary": "One customer",
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": CUSTOMER_REF}}}},
            },
        },
        "/customers/{customerId}/refunds": {
            "parameters": [{"$ref": "#/components/parameters/CustomerId"}],
            "post": {
                "operationId": "createRefund",
                "summary": "Refund a customer",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refund"}}},
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/customers/{customerId}/sessions": {
            "parameters": [{"$ref": "#/components/parameters/CustomerId"}],
            "delete": {
                "operationId": "logoutSessions",
                "summary": "Log a customer out everywhere",
                "responses": {"204": {"description": "gone"}},
            },
        },
        "/search": {
            "post": {
                "operationId": "searchInvoices",
                "summary": "Search invoices",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/flaky": {"get": {"operationId": "getFlaky", "responses": {"200": {"description": "ok"}}}},
        "/broken": {"get": {"operationId": "getBroken", "responses": {"200": {"description": "ok"}}}},
    },
}
CUSTOMERS = {"cus_1": {"id": "cus_1", "email": "ana@example.com", "plan": "pro"}}


@dataclass
class Api:
    url: str  # the document's URL (JSON)
    yaml_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    api: Api
    flaky_served = 0

    def log_message(self, *_args: Any) -> None:  # keep the test output clean
        pass

    def _send(
        self, status: int, body: Any, *, content_type: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/openapi.json":
            return self._send(200, DOCUMENT)
        if parts.path == "/not-openapi.json":
            return self._send(200, {"hello": "world"})
        if parts.path == "/openapi.yaml":
            return self._send(200, yaml.safe_dump(DOCUMENT).encode(), content_type="application/yaml")
        seen = {
            "method": self.command,
            "path": parts.path,
            "query": parse_qs(parts.query),
            "headers": dict(self.headers),
        }
        self.api.requests.append({**seen, "body": json.loads(body) if body else None})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"error": "missing or wrong bearer token"})
        route = (self.command, parts.path)
        if route == ("GET", "/v1/customers"):
            email = parse_qs(parts.query).get("email", [None])[0]
            return self._send(200, {"data": [c for c in CUSTOMERS.values() if email in (None, c["email"])]})
        if self.command == "GET" and parts.path.startswith("/v1/customers/"):
            found = CUSTOMERS.get(parts.path.rsplit("/", 1)[-1])
            return self._send(200, found) if found else self._send(404, {"error": "no such customer"})
        if self.command == "POST" and parts.path.endswith("/refunds"):
            return self._send(201, {"id": "re_1", "amount": json.loads(body)["amount"]})
        if self.command == "DELETE" and parts.path.endswith("/sessions"):
            return self._send(200, {"logged_out": 2})
        if route == ("POST", "/v1/search"):
            return self._send(200, {"data": [], "query": json.loads(body or b"{}")})
        if route == ("GET", "/v1/flaky"):
            type(self).flaky_served += 1
            if type(self).flaky_served % 2 == 1:
                return self._send(429, {"error": "slow down"}, extra={"Retry-After": "0"})
            return self._send(200, {"ok": True})
        if route == ("GET", "/v1/broken"):
            return self._send(200, b'{"truncated": ', content_type="application/json")
        return self._send(404, {"error": f"no route {self.command} {parts.path}"})

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _handle


@contextmanager
def serve_api() -> Iterator[Api]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    api = Api(url=f"{base}/openapi.json", yaml_url=f"{base}/openapi.yaml")
    handler.api = api  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
