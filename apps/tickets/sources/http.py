"""The one outbound HTTP seam of the help-desk adapters: retries 429 (honouring Retry-After) and 5xx.

Each vendor package builds a ``SourceHttp`` with its base URL and auth headers; tests point that base
URL at a real local HTTP server that replays recorded exchanges. Waiting is bounded: a Retry-After
longer than ``max_wait`` is not slept through but raised as a ``TransientSourceError`` so the poll is
rescheduled instead of blocking a worker.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused
from apps.tickets.sources.base import SourceError, TransientSourceError

RETRY_STATUSES = {429, 500, 502, 503, 504}


class HttpStatusError(SourceError):
    """The vendor refused the request (a 4xx other than 429); ``status`` lets an adapter react (401: re-auth)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, *, default: float) -> float:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class SourceHttp:
    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float = 20.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Help desks live on the internet: every request obeys the outbound-URL policy (apps/core/outbound.py),
        # so a base URL pointed at an internal address is refused, redirects and DNS changes included.
        self.client = outbound_http.client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": "Gaby/0.1 (+support agent)", **(headers or {})},
            auth=auth,
            timeout=timeout,
        )
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.waits: list[float] = []  # what this client slept, for logs and tests

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except OutboundRefused as exc:
                raise SourceError(str(exc)) from None  # not transient: an operator has to allow the address
            except httpx.TransportError as exc:
                if attempt == self.max_attempts:
                    raise TransientSourceError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
                self._wait(self.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code not in RETRY_STATUSES:
                if response.status_code >= 400:
                    raise HttpStatusError(
                        f"{method} {url} answered {response.status_code}: {response.text[:300]}",
                        status=response.status_code,
                    )
                return response
            default = self.backoff * 2 ** (attempt - 1)
            wait = retry_after_seconds(response.headers.get("Retry-After"), default=default)
            if attempt == self.max_attempts or wait > self.max_wait:
                raise TransientSourceError(
                    f"{method} {url} answered {response.status_code} after {attempt} attempt(s)"
                    + (f"; retry after {wait:.0f}s" if response.status_code == 429 else ""),
                    retry_after=wait if response.status_code == 429 else None,
                )
            self._wait(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SourceError(f"{method} {url} answered with a body that is not JSON: {response.text[:200]!r}") from exc

    def download(
        self, url: str, *, max_bytes: int, send_auth: bool = True, headers: Mapping[str, str] | None = None
    ) -> tuple[bytes, str]:
        """GET a file (following redirects) as ``(content, content type)``, refusing more than ``max_bytes``.

        ``send_auth=False`` for files a vendor may host elsewhere (Zendesk asks not to send its credentials
        to an attachment's host); httpx drops the Authorization header itself on a cross-origin redirect.
        """
        extra: dict[str, Any] = {} if send_auth else {"auth": None}
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self.client.stream("GET", url, follow_redirects=True, headers=headers, **extra) as response:
                    if response.status_code in RETRY_STATUSES:
                        default = self.backoff * 2 ** (attempt - 1)
                        wait = retry_after_seconds(response.headers.get("Retry-After"), default=default)
                        if attempt == self.max_attempts or wait > self.max_wait:
                            raise TransientSourceError(
                                f"GET {url} answered {response.status_code} after {attempt} attempt(s)",
                                retry_after=wait if response.status_code == 429 else None,
                            )
                        self._wait(wait)
                        continue
                    if response.status_code >= 400:
                        status = response.status_code
                        raise HttpStatusError(f"GET {url} answered {status}", status=status)
                    declared = int(response.headers.get("Content-Length") or 0)
                    if declared > max_bytes:
                        raise SourceError(f"the file is {declared} bytes, over the {max_bytes}-byte limit")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise SourceError(f"the file is over the {max_bytes}-byte limit")
                        chunks.append(chunk)
                    kind = response.headers.get("Content-Type", "").split(";")[0].strip()
                    return b"".join(chunks), kind
            except httpx.TransportError as exc:
                if attempt == self.max_attempts:
                    raise TransientSourceError(f"GET {url}: {exc.__class__.__name__}: {exc}") from exc
                self._wait(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)

    def close(self) -> None:
        self.client.close()
