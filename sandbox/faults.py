"""Faults a vendor stand-in can add beside ``fail_next`` (sandbox/base.py): a rate limit and lost answers.

``Throttle((n, seconds))`` answers 429 with Retry-After past ``n`` requests in a sliding window, as a vendor's API
rate limit does. ``LostAnswers`` performs a matching write and then answers 504, as a gateway that timed out
after the vendor committed it: what makes a blind retry write twice. Both are used under the sandbox's lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox.base import Request, Response


class Throttle:
    def __init__(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._recent: list[float] = []

    def check(self, body: Callable[[int], Any]) -> Response | None:
        """A 429 (with ``body(wait)``) if this request is over the limit, else None and the request is counted."""
        if self.limit is None:
            return None
        allowed, window = self.limit
        moment = time.monotonic()
        self._recent = [seen for seen in self._recent if seen > moment - window]
        if len(self._recent) >= allowed:
            wait = max(1, int(self._recent[0] + window - moment + 0.999))
            return Response(429, body(wait), {"Retry-After": str(wait)})
        self._recent.append(moment)
        return None


class LostAnswers:
    def __init__(self) -> None:
        self._pending: list[tuple[str, str]] = []

    def add(self, method: str, path: str) -> None:
        self._pending.append((method, path))

    def answer(self, request: Request, response: Response) -> Response:
        """The response to send: a 504 in place of a successful answer to a request queued as lost."""
        key = (request.method, request.path)
        if key in self._pending and response.status < 400:
            self._pending.remove(key)
            return Response(504, b"<html><body>504 Gateway Time-out</body></html>")
        return response
