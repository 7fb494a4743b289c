"""The one outbound HTTP seam of approval notices: Slack and Teams incoming webhooks, Slack response URLs.

Every URL obeys the outbound-URL policy (apps/core/outbound.py): one that resolves to loopback, a private or a
metadata address is refused for good (``WebhookError``) without being contacted.
"""

from __future__ import annotations

from typing import Any

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused
from apps.core.retry import retry_after_seconds

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class WebhookError(Exception):
    """The receiver refused the message for good (4xx other than 429): retrying will not help."""


class TransientWebhookError(Exception):
    """Try again later (network error, 5xx, 429); ``retry_after`` seconds when the receiver said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WebhookClient:
    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport  # tests only: a given transport replaces the policy's pinned one

    def _http(self) -> httpx.Client:
        if self._transport is not None:
            return httpx.Client(timeout=TIMEOUT, transport=self._transport, follow_redirects=False)
        return outbound_http.client(timeout=TIMEOUT, follow_redirects=False)

    def post_json(self, url: str, payload: dict[str, Any]) -> str:
        """POST ``payload``; return the body on 2xx. Slack answers ``ok``; Teams ``1`` or an empty 202."""
        try:
            with self._http() as http:
                response = http.post(url, json=payload, headers={"User-Agent": "Gaby approvals"})
        except OutboundRefused as exc:
            raise WebhookError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise TransientWebhookError(f"Could not reach the webhook: {exc.__class__.__name__}") from None
        body = response.text[:500]
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientWebhookError(
                f"The webhook answered {response.status_code}: {body}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 300:
            raise WebhookError(f"The webhook refused the message ({response.status_code}): {body}")
        return body
