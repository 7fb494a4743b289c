"""A real ASGI server (uvicorn, subprocess) on the test database, and headless Chromium via Playwright.

The server sees what the session fixtures committed (clients, personas). Chromium is Debian's
(`/usr/bin/chromium`, installed by `./gaby test` when missing); with CI set, a missing browser is
a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.core.env import database_url

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def asgi_server(world: Any) -> Iterator[str]:
    """Base URL template ``http://{host}:PORT`` of uvicorn serving gaby_site.asgi on the test database."""
    db = settings.DATABASES["default"]
    port = _free_port()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="gaby_site.settings_test",
        DATABASE_URL=database_url(db, name=world.database),
        REDIS_URL=settings.REDIS_URL,
        GABY_PORT=str(port),
    )
    log = ROOT / "var" / "browser-server.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gaby_site.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(f"uvicorn did not start; see {log}") from None
                time.sleep(0.2)
        yield f"http://{{host}}:{port}"
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while open,
    which Django (rightly) treats as async context; it must be closed before other tests run."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `./gaby test` installs Debian's chromium package when run as root.")
        pytest.skip("Chromium is not installed (apt-get install chromium) — browser tests skipped locally")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # fixtures' own ORM calls, under Playwright's loop
        try:
            yield browser
        finally:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            browser.close()


@pytest.fixture
def page_factory(chromium: Any) -> Iterator[Any]:
    contexts = []

    def make() -> Any:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
