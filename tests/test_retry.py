"""The one retry mechanism (apps/core/retry.py): Retry-After in seconds and as an HTTP date, a cap that waits or
hands the answer back, errors, and the Celery countdown. Runs against httpx's MockTransport: no network."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from apps.core.retry import Policy, retry_after_seconds, send_with_retries, send_with_retries_async, task_countdown


def scripted(*answers: int | tuple[int, dict[str, str]] | Exception) -> tuple[httpx.Client, list[int]]:
    script = list(answers)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://vendor.test"), seen


def call(client: httpx.Client) -> Callable[[], httpx.Response]:
    return lambda: client.get("/x")


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("7") == 7.0 and retry_after_seconds(" 1.5 ") == 1.5
    later = retry_after_seconds(format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True))
    assert later is not None and 80 < later <= 90
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("inf") is None and retry_after_seconds("-3") is None


def test_steps_double_and_retry_after_replaces_a_step() -> None:
    client, _ = scripted(503, (429, {"Retry-After": "2"}), 502, 200)
    slept: list[float] = []
    answer = send_with_retries(call(client), Policy(attempts=4, backoff=0.25), sleep=slept.append)
    assert answer.response.status_code == 200 and answer.attempts == 4 and slept == [0.25, 2.0, 1.0]


def test_a_long_retry_after_is_handed_back_or_capped() -> None:
    client, _ = scripted((429, {"Retry-After": "3600"}))
    slept: list[float] = []
    answer = send_with_retries(call(client), Policy(max_wait=30), sleep=slept.append)
    assert answer.response.status_code == 429 and answer.attempts == 1 and slept == []
    client, _ = scripted((429, {"Retry-After": "3600"}), 200)
    answer = send_with_retries(call(client), Policy(max_wait=30, hand_back=False), sleep=slept.append)
    assert answer.response.status_code == 200 and slept == [30]


def test_the_last_answer_is_returned_and_the_last_error_raised() -> None:
    client, seen = scripted(503, 503, 503)
    answer = send_with_retries(call(client), Policy(attempts=3), sleep=lambda _: None)
    assert answer.response.status_code == 503 and answer.attempts == 3 and len(seen) == 3
    client, seen = scripted(httpx.ConnectError("down"), httpx.ConnectError("still down"))
    with pytest.raises(httpx.ConnectError, match="still down"):
        send_with_retries(call(client), Policy(attempts=2), sleep=lambda _: None)
    client, seen = scripted(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(httpx.ReadTimeout):  # not an error this policy retries
        send_with_retries(call(client), Policy(errors=(httpx.ConnectError,)), sleep=lambda _: None)
    assert len(seen) == 1


def test_the_async_flavour_follows_the_same_policy() -> None:
    async def run() -> tuple[int, int]:
        answers = [httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(201)]
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answers.pop(0))) as client:
            answer = await send_with_retries_async(lambda: client.post("http://vendor.test/x"), Policy())
        return answer.response.status_code, answer.attempts

    assert asyncio.run(run()) == (201, 2)


def test_task_countdowns_double_up_to_the_cap_and_honour_a_longer_retry_after() -> None:
    assert [task_countdown(n, base=5, cap=900) for n in (0, 1, 2, 10)] == [5, 10, 20, 900]
    assert task_countdown(0, base=5, cap=900, retry_after=3600) == 3600
    assert task_countdown(3, base=5, cap=900, retry_after=1) == 40
