"""Stripe's REST API through the connector's one HTTP seam: Bearer key, form-encoded writes, list paging.

Every write carries an ``Idempotency-Key`` derived from the Gaby action that asked for it, so a retried
action (or our own retry after a 5xx) is executed by Stripe at most once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from apps.connectors.servers.rest import RestClient, VendorError

DEFAULT_BASE = "https://api.stripe.com"


class NotFound(VendorError):
    pass


@dataclass(frozen=True)
class Settings:
    api_key: str  # a restricted key (rk_...) with only what the tools need is best
    base_url: str = DEFAULT_BASE
    page_size: int = 100
    timeout: float = 20.0

    @classmethod
    def from_env(cls) -> Settings:
        key = os.environ.get("GABY_STRIPE_API_KEY", "")
        if not key:
            raise SystemExit("GABY_STRIPE_API_KEY is not set: the connector needs a Stripe secret or restricted key.")
        return cls(
            api_key=key,
            base_url=os.environ.get("GABY_STRIPE_API_BASE") or DEFAULT_BASE,
            page_size=int(os.environ.get("GABY_STRIPE_PAGE_SIZE", "100")),
            timeout=float(os.environ.get("GABY_STRIPE_TIMEOUT_S", "20")),
        )

    @property
    def livemode(self) -> bool:
        return "_live_" in self.api_key


def idempotency_key(tool: str, action_key: str, arguments: dict[str, Any]) -> str:
    """Stripe's Idempotency-Key for one write: from the Gaby action's key when the host passed one, else from
    the call itself (so repeating the same call within Stripe's 24-hour window is not executed twice)."""
    basis = action_key or json.dumps(arguments, sort_keys=True, default=str)
    return f"gaby-{tool}-" + hashlib.sha256(f"{tool}\n{basis}".encode()).hexdigest()[:40]


class Stripe:
    def __init__(self, settings: Settings, *, backoff: float = 0.25) -> None:
        self.settings = settings
        self.rest = RestClient(
            vendor="Stripe",
            base_url=settings.base_url,
            timeout=settings.timeout,
            backoff=backoff,
            headers={"Authorization": f"Bearer {settings.api_key}"},
        )

    def _answer(self, response: Any) -> Any:
        status = response.status_code
        body = self.rest.json(response)
        if status < 400:
            if not isinstance(body, dict):
                raise VendorError(f"Stripe answered HTTP {status} with {type(body).__name__}, not an object.")
            return body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = str(error.get("message") or body)
        code = str(error.get("code") or error.get("type") or "")
        if status == 401:
            raise VendorError(f"Stripe rejected the API key: {message}", status=401, code="auth_failed")
        if status == 403:
            raise VendorError(
                f"The Stripe key may not do this (a restricted key lacks the permission): {message}",
                status=403,
                code="forbidden",
            )
        if status == 404:
            raise NotFound(message, status=404, code=code)
        decline = f" (decline code: {error['decline_code']})" if error.get("decline_code") else ""
        raise VendorError(
            f"Stripe refused it (HTTP {status}, {code or 'error'}): {message}{decline}", status=status, code=code
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._answer(self.rest.send("GET", path, params=params, retry=True))

    def post(self, path: str, data: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        # retry=True is safe: Stripe executes a request once per Idempotency-Key and replays its answer
        response = self.rest.send("POST", path, data=data, headers={"Idempotency-Key": idempotency_key}, retry=True)
        return self._answer(response)

    def list(self, path: str, params: dict[str, Any], *, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Follow ``has_more``/``starting_after`` until ``limit`` items; returns them and whether more exist."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            size = min(self.settings.page_size, limit - len(items), 100)
            page = self.get(path, {**params, "limit": size, **({"starting_after": cursor} if cursor else {})})
            data = page.get("data")
            if page.get("object") != "list" or not isinstance(data, list):
                raise VendorError(f"Stripe answered {path} with something that is not a list object.")
            items.extend(data)
            more = bool(page.get("has_more"))
            if not more or not data or len(items) >= limit:
                return items[:limit], more
            cursor = str(data[-1]["id"])
