"""The one retry mechanism of Gaby's outbound HTTP, and the one countdown of Celery tasks that retry later.

``send_with_retries(call, policy)`` runs ``call`` — one request through a client of apps/core/outbound_http.py, so
every attempt is checked and pinned by the outbound-URL policy: retrying composes with the policy, never bypasses
it — under tenacity:

- an answer whose status is in ``policy.statuses``, or an error of ``policy.errors``, is tried again, up to
  ``policy.attempts`` tries in all, after ``policy.backoff`` seconds, doubling each time;
- an answer's ``Retry-After`` (delta-seconds or an HTTP date, RFC 9110 §10.2.3) replaces that step. One longer than
  ``policy.max_wait`` is waited for ``max_wait`` (``hand_back=False``), or not waited at all (``hand_back=True``):
  the answer is handed back, so the caller can ask to run again later (a Celery countdown from ``task_countdown``)
  instead of holding a worker for it.

The last answer is returned with the number of tries (the caller maps its status to its own error); the last error
is raised.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import httpx
import tenacity

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (never negative); ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class Policy:
    attempts: int = 3
    backoff: float = 0.5  # the wait after the first try; doubles after each next one
    max_wait: float = 30.0  # the longest one wait may be
    statuses: frozenset[int] = RETRY_STATUSES
    errors: tuple[type[BaseException], ...] = (httpx.TransportError,)
    hand_back: bool = True  # a Retry-After over max_wait: hand the answer back (True) or wait max_wait (False)
    # An answer in ``statuses`` the vendor means as a refusal, not an outage (Autotask answers a rule it enforces
    # with 500 and its errors): handed back at once, never tried again.
    refused: Callable[[httpx.Response], bool] | None = None

    def step(self, attempt: int) -> float:
        """The backoff after try number ``attempt`` (1-based)."""
        return self.backoff * 2 ** (attempt - 1)

    def wait(self, response: httpx.Response, attempt: int) -> float:
        """What ``response`` asks to wait after try ``attempt``: its Retry-After, else the backoff step (uncapped)."""
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        return self.step(attempt) if asked is None else asked

    def retries(self, response: httpx.Response, attempt: int) -> bool:
        if response.status_code not in self.statuses or (self.refused is not None and self.refused(response)):
            return False
        return not self.hand_back or self.wait(response, attempt) <= self.max_wait


class Answer(NamedTuple):
    response: httpx.Response
    attempts: int


def _options(policy: Policy) -> dict[str, object]:
    def retry(state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            return isinstance(outcome.exception(), policy.errors)
        return policy.retries(outcome.result(), state.attempt_number)

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return policy.step(state.attempt_number)
        return min(policy.wait(outcome.result(), state.attempt_number), policy.max_wait)

    return {
        "stop": tenacity.stop_after_attempt(policy.attempts),
        "retry": retry,
        "wait": wait,
        "reraise": True,
        # Tries spent: the last answer goes back to the caller, the last error is raised.
        "retry_error_callback": lambda state: state.outcome.result(),
    }


def _close_discarded(state: tenacity.RetryCallState) -> None:
    """A streamed answer that is retried is released before the next try."""
    if state.outcome is not None and not state.outcome.failed:
        state.outcome.result().close()


def send_with_retries(
    call: Callable[[], httpx.Response], policy: Policy, *, sleep: Callable[[float], None] = time.sleep
) -> Answer:
    retrying = tenacity.Retrying(sleep=sleep, before_sleep=_close_discarded, **_options(policy))  # type: ignore[arg-type]
    response = retrying(call)
    return Answer(response, retrying.statistics.get("attempt_number", 1))


async def send_with_retries_async(call: Callable[[], Awaitable[httpx.Response]], policy: Policy) -> Answer:
    retrying = tenacity.AsyncRetrying(**_options(policy))  # type: ignore[arg-type]

    async def attempt() -> httpx.Response:  # tenacity awaits coroutine functions only, not a lambda's coroutine
        return await call()

    response: httpx.Response = await retrying(attempt)
    return Answer(response, retrying.statistics.get("attempt_number", 1))


def task_countdown(retries: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before a Celery task's next try after ``retries`` retries: ``base`` doubling, at most ``cap``; longer
    when the receiver's Retry-After asked for more (it is never called sooner than it asked)."""
    return max(retry_after or 0.0, min(cap, base * 2**retries))


__all__ = [
    "RETRY_STATUSES",
    "Answer",
    "Policy",
    "retry_after_seconds",
    "send_with_retries",
    "send_with_retries_async",
    "task_countdown",
]
