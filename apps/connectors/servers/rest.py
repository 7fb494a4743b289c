"""The outbound HTTP seam of the first-party REST connectors (Keycloak, Stripe): one ``httpx`` client with
the retry rules every vendor call follows, so each connector only maps its vendor's payloads.

- 429: wait what ``Retry-After`` says (seconds or an HTTP date) and retry, unless that is longer than
  ``max_wait`` — then fail at once with a message that says when to try again (a tool call must not hang).
- 5xx and connection failures: retry with exponential backoff, but only calls marked ``retry=True``
  (reads, and writes the vendor deduplicates — Stripe's Idempotency-Key). A write that might have
  happened is never sent twice blindly.
- A body that is not JSON where JSON is expected is an error that names the status and the body's start.

The retrying itself is the shared mechanism (apps/core/retry.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused
from apps.core.retry import Policy, send_with_retries

# httpx logs every request at INFO; in a connector subprocess that goes to stderr, i.e. into Gaby's logs, with
# query strings that hold email addresses. Requests that matter surface as tool results and errors instead.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class VendorError(Exception):
    """The vendor refused or failed the call; the message is written for the person reading the tool result."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RestClient:
    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        timeout: float = 15.0,
        attempts: int = 3,
        backoff: float = 0.25,
        max_wait: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.vendor = vendor
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        # Every request obeys the outbound-URL policy (apps/core/outbound.py; the allow-list comes in the
        # environment, this server runs without Django): an internal address is refused, redirects included.
        self.http = outbound_http.client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers or {})

    def _policy(self, *, retry_all: bool) -> Policy:
        """429 is always retried; 5xx and errors after the request may have arrived only when ``retry_all``."""
        return Policy(
            attempts=self.attempts,
            backoff=self.backoff,
            max_wait=self.max_wait,
            statuses=frozenset({429, *range(500, 600)}) if retry_all else frozenset({429}),
            errors=(httpx.HTTPError,) if retry_all else (httpx.ConnectError,),
        )

    def send(self, method: str, path: str, *, retry: bool, **kwargs: Any) -> httpx.Response:
        """Send one request with the retry rules above; returns any response that is not 429/5xx-retried."""
        policy = self._policy(retry_all=retry)
        try:
            response, attempts = send_with_retries(lambda: self.http.request(method, path, **kwargs), policy)
        except OutboundRefused as exc:
            raise VendorError(str(exc)) from None  # an operator has to allow the address: never retried
        except httpx.ConnectError as exc:  # nothing reached the vendor: tried on every attempt
            raise VendorError(f"Cannot reach {self.vendor} at {self.http.base_url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise VendorError(f"{self.vendor} did not answer ({type(exc).__name__}: {exc}).") from None
        if response.status_code == 429:
            wait = policy.wait(response, attempts)
            raise VendorError(
                f"{self.vendor} is rate limiting these calls (HTTP 429); try again in {wait:.0f}s.",
                status=429,
                code="rate_limited",
            )
        return response

    def send_bearer(
        self, method: str, path: str, token: Callable[[bool], str], *, retry: bool, **kwargs: Any
    ) -> httpx.Response:
        """``send`` with ``Authorization: Bearer <token(False)>``; a 401 gets one fresh token (``token(True)``) and
        one more try, so a token the vendor revoked or expired early costs one round trip, not a failed call."""
        extra_headers = kwargs.pop("headers", {})  # once: the retry sends them too
        for fresh in (False, True):
            headers = {**extra_headers, "Authorization": f"Bearer {token(fresh)}"}
            response = self.send(method, path, retry=retry, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        return response

    def json(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            start = response.text[:120].replace("\n", " ")
            raise VendorError(
                f"{self.vendor} answered HTTP {response.status_code} with a body that is not JSON: {start!r}",
                status=response.status_code,
                code="malformed_body",
            ) from None

    def close(self) -> None:
        self.http.close()
