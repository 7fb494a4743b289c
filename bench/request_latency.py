"""Latency of the operator shell through the whole stack, next to a floor measured in the same run.

Floor: ``/health`` on the same uvicorn process (answered by the first middleware: no tenant, no
session, no database). Measured: tenant resolution + sign-in page; a signed-in member's Inbox (tenant,
session, membership check, shell template with switcher); the MSP portal home. Sequential requests on
one keep-alive connection against the embedded PostgreSQL and Redis.

    .venv/bin/python bench/request_latency.py [--requests 300]
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import free_port, start_uvicorn, summary, wait_http


def _prepare() -> tuple[str, str]:
    """Migrate and seed the demo (no admin minted); return session keys for alice and mona."""
    import django
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    django.setup()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    from tenants.demo import seed_demo

    _, people, _ = seed_demo()

    def session(user: object) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
        store.create()
        return str(store.session_key)

    return session(people["alice"]), session(people["mona"])


def _measure(port: int, host: str, path: str, cookie: str | None, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = f"gaby_session={cookie}"
    samples = []
    for i in range(n + 20):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{host}{path} answered {response.status}")
        if i >= 20:  # warm-up excluded
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    alice, mona = _prepare()
    from django.conf import settings

    port = free_port()
    env = dict(os.environ, GABY_LOG_LEVEL="warning", GABY_PORT=str(port))
    env.setdefault("DATABASE_URL", _database_url(settings))
    env.setdefault("REDIS_URL", settings.REDIS_URL)
    server = start_uvicorn("gaby_site.asgi:application", port, env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        cases = [
            ("floor: /health (no tenant, no DB)", "localhost", "/health", None),
            ("sign-in page at hartwell (tenant lookup)", "hartwell.localhost", "/accounts/login/", None),
            ("alice's Inbox (tenant+session+membership+shell)", "hartwell.localhost", "/inbox/", alice),
            ("mona's MSP portal home", "localhost", "/", mona),
        ]
        print(f"{args.requests} sequential GETs each, one keep-alive connection, uvicorn, embedded PostgreSQL/Redis")
        floor = None
        for label, host, path, cookie in cases:
            samples = _measure(port, host, path, cookie, args.requests)
            median = sorted(samples)[len(samples) // 2]
            floor = floor or median
            print(f"  {label:<50} {summary(samples)}  ({median / floor:4.1f}x floor)")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _database_url(settings: object) -> str:
    from apps.core.env import database_url

    return database_url(settings.DATABASES["default"])  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
