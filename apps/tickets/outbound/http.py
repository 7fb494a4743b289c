"""The one outbound HTTP seam of webhooks: POST a signed body, report what came back, never raise on HTTP errors.

The receiver's URL obeys the outbound-URL policy (apps/core/outbound.py): a URL that resolves to loopback, a
private or a metadata address is not contacted, and the attempt records why, with no response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no answer (connection refused, timeout, TLS error)
    error: str
    body_excerpt: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookHttp:
    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.monotonic()
        try:
            with outbound_http.client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, content=body, headers=headers)
        except OutboundRefused as exc:
            return PostResult(None, str(exc)[:2000], "", int((time.monotonic() - started) * 1000))
        except httpx.HTTPError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return PostResult(None, f"{exc.__class__.__name__}: {exc}"[:2000], "", elapsed)
        elapsed = int((time.monotonic() - started) * 1000)
        error = "" if response.is_success else f"answered {response.status_code} {response.reason_phrase}"
        return PostResult(response.status_code, error, response.text[:500], elapsed)
