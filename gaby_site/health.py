"""``/health`` (the process answers) and ``/ready`` (database, Redis and a live worker).

Served by a middleware ahead of tenant routing and host validation, so probes work whatever Host
header a load balancer or orchestrator sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the message names it
        return f"database unreachable: {exc.__class__.__name__}: {exc}".strip()
    return None


def check_redis() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        return f"redis unreachable: {exc.__class__.__name__}: {exc}"
    return None


def check_worker() -> str | None:
    from gaby_site.celery import app

    try:
        replies = app.control.ping(timeout=settings.READY_WORKER_TIMEOUT, limit=1)  # first answer is enough
    except Exception as exc:
        return f"worker check failed: {exc.__class__.__name__}: {exc}"
    if not replies:
        return "no live Celery worker answered"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {"database": check_database, "redis": check_redis, "worker": check_worker}


def ready_report() -> tuple[int, dict[str, Any]]:
    started = time.monotonic()
    results: dict[str, Any] = {}
    failing = []
    for name, check in CHECKS.items():
        # A worker ping needs Redis; skip it rather than wait for its timeout when Redis is down.
        if name == "worker" and "redis" in failing:
            results[name] = "skipped: redis is down"
            failing.append(name)
            continue
        error = check()
        results[name] = error or "ok"
        if error:
            failing.append(name)
    body = {
        "status": "unavailable" if failing else "ready",
        "failing": failing,
        "checks": results,
        "seconds": round(time.monotonic() - started, 3),
    }
    return (503 if failing else 200), body


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/health":
            return JsonResponse({"status": "ok"})
        if request.path == "/ready":
            status, body = ready_report()
            return JsonResponse(body, status=status)
        return self.get_response(request)
