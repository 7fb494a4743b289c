"""The one outbound HTTP seam of the OpenAPI connector: build a request, show it (dry run), or send it.

Authentication (bearer token, API key in a header or the query, HTTP basic) is added here from sealed
settings; a rendered request shows the secret as ``•••``, so a dry run can be stored and shown safely.
Reads are retried on 429 (honouring Retry-After, capped) and 502/503/504; a write is retried only on 429,
the one answer that says the request was not processed (the shared mechanism, apps/core/retry.py).

The document and every call obey the outbound-URL policy (apps/core/outbound.py; the host passes the install's
allow-list as GABY_OUTBOUND_ALLOW): a URL, a redirect or a document's ``servers`` entry that resolves to loopback,
a private or a metadata address is refused without being contacted.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused
from apps.core.retry import Policy, send_with_retries_async

SECRET_MASK = "•••"
MAX_BODY_CHARS = 50_000
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_RETRY_AFTER_S = 10.0
# Errors are not retried (a timeout may have reached the API); a Retry-After longer than the cap waits the cap.
_RETRY = {
    writes: Policy(
        attempts=3,
        backoff=0.5,
        max_wait=MAX_RETRY_AFTER_S,
        statuses=frozenset({429}) if writes else frozenset({429, *RETRY_STATUSES}),
        errors=(),
        hand_back=False,
    )
    for writes in (False, True)
}


@dataclass(frozen=True)
class Auth:
    kind: str = "none"  # none | bearer | header | query | basic
    name: str = ""  # header or query parameter name for an API key
    secret: str = ""  # token, key, or basic password
    username: str = ""  # basic only

    def describe(self) -> str:
        return {
            "none": "none",
            "bearer": "bearer token",
            "header": f"API key in header {self.name}",
            "query": f"API key in query parameter {self.name}",
            "basic": f"HTTP basic as {self.username}",
        }.get(self.kind, self.kind)


@dataclass
class Prepared:
    method: str
    url: str  # without the secret query parameter
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    media: str | None = None

    def render(self, auth: Auth) -> dict[str, Any]:
        """The exact request, with the credential shown as ••• (it would be sent for real)."""
        query = urllib.parse.urlencode(self.query)
        headers = dict(self.headers)
        if auth.kind == "query":  # appended as is: an encoded mask would be unreadable
            query = "&".join(part for part in (query, f"{urllib.parse.quote(auth.name)}={SECRET_MASK}") if part)
        elif auth.kind == "header":
            headers[auth.name] = SECRET_MASK
        elif auth.kind == "bearer":
            headers["Authorization"] = f"Bearer {SECRET_MASK}"
        elif auth.kind == "basic":
            headers["Authorization"] = f"Basic {SECRET_MASK}"
        url = self.url + (f"?{query}" if query else "")
        out: dict[str, Any] = {"method": self.method.upper(), "url": url, "headers": headers}
        if self.body is not None:
            out["body"] = self.body
        return out


class ApiClient:
    """httpx under the hood: a sync client for loading the document, an async one for the calls."""

    def __init__(self, auth: Auth, *, timeout: float = 20.0) -> None:
        self.auth = auth
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def fetch_document(self, url: str) -> str:
        try:
            with outbound_http.client(timeout=self.timeout, follow_redirects=True) as http:
                response = http.get(url)
        except OutboundRefused as exc:
            raise ConnectionError(f"Cannot fetch the OpenAPI document: {exc}") from None
        except httpx.HTTPError as exc:
            raise ConnectionError(f"Could not fetch the OpenAPI document from {url}: {exc}") from None
        if response.status_code != 200:
            raise ConnectionError(f"Fetching the OpenAPI document from {url} answered HTTP {response.status_code}.")
        return response.text

    def _secret_parts(
        self, prepared: Prepared
    ) -> tuple[list[tuple[str, str | int | float | bool | None]], dict[str, str]]:
        query: list[tuple[str, str | int | float | bool | None]] = list(prepared.query)
        headers = dict(prepared.headers)
        auth = self.auth
        if auth.kind == "query":
            query.append((auth.name, auth.secret))
        elif auth.kind == "header":
            headers[auth.name] = auth.secret
        elif auth.kind == "bearer":
            headers["Authorization"] = f"Bearer {auth.secret}"
        elif auth.kind == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth.username}:{auth.secret}".encode()).decode()
        return query, headers

    async def send(self, prepared: Prepared, *, writes: bool) -> tuple[int, str, Any]:
        """(status, reason, body) — the body parsed as JSON when it is JSON, else its text (capped)."""
        if self._client is None:
            self._client = outbound_http.async_client(timeout=self.timeout, follow_redirects=False)
        query, headers = self._secret_parts(prepared)
        content = None
        if prepared.body is not None:
            if prepared.media and "json" not in prepared.media and isinstance(prepared.body, str):
                content = prepared.body.encode()
            else:
                content = json.dumps(prepared.body).encode()
        method = prepared.method.upper()
        client = self._client
        try:
            response, _ = await send_with_retries_async(
                lambda: client.request(method, prepared.url, params=query, headers=headers, content=content),
                _RETRY[writes],
            )
        except OutboundRefused as exc:
            raise ConnectionError(f"{method} {prepared.url} was not sent: {exc}") from None
        except httpx.TimeoutException:
            raise ConnectionError(f"{method} {prepared.url} timed out after {self.timeout:g}s.") from None
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{method} {prepared.url} failed: {exc}") from None
        return response.status_code, response.reason_phrase, _body(response)


def _body(response: httpx.Response) -> Any:
    text = response.text
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(text)
        except ValueError:
            pass  # a malformed JSON body: hand back its text, the status says the rest
    return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + f"[… {len(text) - MAX_BODY_CHARS} more]"
