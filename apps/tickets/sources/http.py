"""The one outbound HTTP seam of the help-desk adapters: retries 429 (honouring Retry-After) and 5xx.

Each vendor package builds a ``SourceHttp`` with its base URL and auth headers; tests point that base
URL at a real local HTTP server that replays recorded exchanges. The retries are the shared mechanism
(apps/core/retry.py); waiting is bounded: a Retry-After longer than ``max_wait`` is not slept through but raised
as a ``TransientSourceError`` so the poll is rescheduled instead of blocking a worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from apps.core import outbound_http, retry
from apps.core.outbound import OutboundRefused
from apps.tickets.sources.base import SourceError, TransientSourceError

RETRY_STATUSES = retry.RETRY_STATUSES


class HttpStatusError(SourceError):
    """The vendor refused the request (a 4xx other than 429); ``status`` lets an adapter react (401: re-auth)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, *, default: float) -> float:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    seconds = retry.retry_after_seconds(value)
    return default if seconds is None else seconds


class SourceHttp:
    # What a vendor package says when its API refuses with one of these statuses: a template whose ``{error}`` is the
    # answer (method, URL, status, body) and whose text says what to fix (ConnectWise's keys, Autotask's API user).
    refusals: ClassVar[Mapping[int, str]] = {}

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
        self.policy = retry.Policy(attempts=max_attempts, backoff=backoff, max_wait=max_wait, refused=self.refused)
        self.sleep = sleep
        self.waits: list[float] = []  # what this client slept, for logs and tests

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response, _ = self._send(method, url, lambda: self.client.request(method, url, **kwargs))
        if response.status_code >= 400:
            error = f"{method} {url} answered {response.status_code}: {response.text[:300]}"
            hint = self.refusals.get(response.status_code)
            raise HttpStatusError(hint.format(error=error) if hint else error, status=response.status_code)
        return response

    def refused(self, response: httpx.Response) -> bool:
        """Whether an answer in a retried status is the vendor's refusal (raised as ``HttpStatusError``, not retried);
        a vendor package overrides it when its API answers refusals with a 5xx."""
        return False

    def _send(self, method: str, url: str, call: Callable[[], httpx.Response]) -> retry.Answer:
        """``call`` under the retry policy; an answer still asking to retry is raised as transient."""
        try:
            response, attempts = retry.send_with_retries(call, self.policy, sleep=self._wait)
        except OutboundRefused as exc:
            raise SourceError(str(exc)) from None  # not transient: an operator has to allow the address
        except httpx.TransportError as exc:
            raise TransientSourceError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code in RETRY_STATUSES and not self.refused(response):
            response.close()
            wait = self.policy.wait(response, attempts)
            raise TransientSourceError(
                f"{method} {url} answered {response.status_code} after {attempts} attempt(s)"
                + (f"; retry after {wait:.0f}s" if response.status_code == 429 else ""),
                retry_after=wait if response.status_code == 429 else None,
            )
        return retry.Answer(response, attempts)

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
        request = self.client.build_request("GET", url, headers=headers)
        response, _ = self._send(
            "GET", url, lambda: self.client.send(request, stream=True, follow_redirects=True, **extra)
        )
        try:
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
        finally:
            response.close()

    def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)

    def close(self) -> None:
        self.client.close()
