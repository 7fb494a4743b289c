"""Fixtures on the real embedded PostgreSQL and Redis.

The session creates, once, the two demo clients (each with its migrated schema) and the personas:
alice (Admin of Hartwell), bob (Agent of Hartwell), carol (Admin of Dearborn) and mona (MSP staff,
Admin of both). Each test runs in a transaction rolled back afterwards, so tests may change
anything, but the session's rows are committed and visible to other threads (Celery worker,
Channels consumers, the live server). Never use ``transactional_db``: its flush would delete them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection, connections
from django.test import Client as HttpClient

from tests.llm_server import ScriptedLLM

PASSWORD = "correct-horse-battery-staple"
HOSTS = {"hartwell": "hartwell.localhost", "dearborn": "dearborn.localhost", "public": "localhost"}


@dataclass
class World:
    clients: dict[str, Any]
    people: dict[str, Any]
    sessions: dict[str, str]  # persona -> committed session key (for websockets / other threads)
    database: str  # the test database's name, for servers started in other processes


def _committed_session(user: Any) -> str:
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


@pytest.fixture(scope="session")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
        # pytest-django sets up the test database only when a collected test asks for one.
        assert database.startswith("test_"), f"refusing to seed {database!r}: mark the tests with django_db"
        from django.contrib.admin.models import ADDITION, LogEntry
        from django_tenants.utils import tenant_context

        from tenants.demo import seed_clients, seed_people

        clients = seed_clients()
        people = seed_people(clients, password=PASSWORD)
        sessions = {key: _committed_session(user) for key, user in people.items()}
        # One admin log row in Hartwell only, so a task can prove which schema it read.
        with tenant_context(clients["hartwell"]):
            LogEntry.objects.create(user=people["alice"], object_repr="marker", action_flag=ADDITION)
        connection.set_schema_to_public()
    yield World(clients=clients, people=people, sessions=sessions, database=database)
    with django_db_blocker.unblock():
        # Other threads (worker, consumers, live server) may still hold connections; the test
        # database cannot be dropped while they do.
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connections.close_all()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each test gets its own channel layer instance.

    channels_redis binds receive state (a lock, a receiver count) to the event loop of the first consumer that
    receives; every async test runs on a new loop, so a consumer a failed or slow test left behind would break
    every later websocket test. A server process has one loop and never meets this. Groups and inboxes are
    emptied afterwards too: a page a test "opened" (a group member) must not count as open in the next test.
    """
    from channels.layers import channel_layers, get_channel_layer

    from apps.core import publisher

    channel_layers.backends = {}
    yield
    publisher.flush()  # live events a test announced leave before the next test listens
    channel_layers.backends = {}
    layer = get_channel_layer()  # a new instance: no pool bound to another test's loop
    # On a thread of its own: a browser test's Playwright keeps an event loop running in this one.
    emptying = threading.Thread(target=lambda: asyncio.run(layer.flush()))
    emptying.start()
    emptying.join()
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()  # rate limits and cached lookups must not leak between tests
    yield
    if connection.connection is not None or connection.schema_name != "public":
        connection.set_schema_to_public()


@pytest.fixture
def hartwell(world: World, db: None) -> Any:
    client = world.clients["hartwell"]
    client.refresh_from_db()  # the object lives for the session; a previous test may have changed its copy
    return client


@pytest.fixture
def dearborn(world: World, db: None) -> Any:
    client = world.clients["dearborn"]
    client.refresh_from_db()
    return client


@pytest.fixture
def people(world: World, db: None) -> dict[str, Any]:
    return world.people


def browser_for(user: Any | None, host: str) -> HttpClient:
    """A Django test client signed in as ``user`` (None: anonymous) that talks to ``host``."""
    client = HttpClient(HTTP_HOST=host)
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def as_user(world: World, db: None) -> Any:
    """``as_user("carol", "hartwell")`` → a test client for carol on Hartwell's domain."""

    def make(persona: str | None, where: str) -> HttpClient:
        return browser_for(world.people[persona] if persona else None, HOSTS[where])

    return make


@pytest.fixture
def in_hartwell(hartwell: Any) -> Iterator[Any]:
    """Run the test inside Hartwell Law's schema."""
    from django_tenants.utils import tenant_context

    with tenant_context(hartwell):
        yield hartwell


@pytest.fixture
def in_dearborn(dearborn: Any) -> Iterator[Any]:
    from django_tenants.utils import tenant_context

    with tenant_context(dearborn):
        yield dearborn


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    """A scripted OpenAI-compatible server (tests/llm_server.py): real HTTP and real litellm, no API key."""
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="module")
def celery_worker(world: World, django_db_blocker: Any) -> Iterator[Any]:
    """A real Celery worker (solo pool, in a thread) on the test Redis; it sees only committed rows."""
    from celery.contrib.testing.worker import start_worker

    from gaby_site.celery import app

    with (
        django_db_blocker.unblock(),
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as w,
    ):
        yield w


@pytest.fixture(scope="session", autouse=True)
def _close_mcp_sessions() -> Iterator[None]:
    """Terminate every MCP server the connectors' host started (any test package may start one)
    before pytest closes its captured streams."""
    yield
    from apps.connectors import host

    if host._host is not None:
        host._host.shutdown()
