"""Test overrides on top of the one settings module: same real PostgreSQL and Redis, faster hashing."""

import os

os.environ.setdefault("GABY_ENV", "test")
# A prefix of its own keeps test queues and channel groups apart from a running dev instance.
os.environ.setdefault("GABY_REDIS_PREFIX", "gabytest")
os.environ.setdefault("GABY_LOG_LEVEL", "warning")

from gaby_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
READY_WORKER_TIMEOUT = 1.0


def _other_database(url: str, index: int) -> str:
    """The same Redis server, another logical database, so tests can flush their cache freely."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}?db={index}"
    return urlunsplit(parts._replace(path=f"/{index}"))


CACHES["default"]["LOCATION"] = _other_database(REDIS_URL, 1)  # noqa: F405
CONNECTOR_RESTART_BACKOFF_BASE = 0.2  # a crashing test server is retried quickly
