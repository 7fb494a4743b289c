"""Strict, typed readers for environment variables.

Every setting Gaby reads from the environment goes through these helpers so that a bad value
fails at start-up with a message naming the variable and what to write instead, never later
with a confusing traceback. ``NAME_FILE`` is honoured for every variable: when set, the value is
read from that file (Docker and Kubernetes secrets mount that way).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str) -> str | None:
    """The variable's value, from ``NAME`` or the file named by ``NAME_FILE``; None if unset."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        if name in os.environ:
            raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points at {file_name!r}, which cannot be read: {exc.strerror}."
            ) from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} is required: set it in the environment or in {name}_FILE.")
        if default is None:
            return ""
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small: it must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is too large: it must be at most {maximum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


def env_path(name: str, default: Path) -> Path:
    value = raw(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class DatabaseUrl:
    name: str
    user: str
    password: str
    host: str
    port: str
    options: dict[str, str]


def database_url(db: Mapping[str, Any], *, name: str | None = None) -> str:
    """The inverse of ``parse_database_url``: a ``postgresql://`` URL for a Django DATABASES entry, optionally
    naming another database on the same server. A host starting with ``/`` is a unix socket directory."""
    credentials = quote(str(db.get("USER") or ""), safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(str(db["PASSWORD"]), safe="")
    host, port = str(db.get("HOST") or ""), str(db.get("PORT") or "")
    database = quote(name or str(db["NAME"]), safe="")
    if host.startswith("/"):
        query = urlencode({"host": host, **({"port": port} if port else {})})
        return f"postgresql://{credentials}@/{database}?{query}"
    return f"postgresql://{credentials}@{host or 'localhost'}{':' + port if port else ''}/{database}"


def parse_database_url(name: str, url: str) -> DatabaseUrl:
    """Parse ``postgres://user:pass@host:port/db?sslmode=...``.

    A ``host`` query parameter may name a unix socket directory instead of a TCP host.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// or postgresql://, got {parts.scheme or 'nothing'}://."
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured(f"{name} names no database: add /<database> after the host.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = query.pop("port", None) or str(parts.port or "")  # a socket URL carries its port as ?port=
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    if not port.isdigit() and port:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.")
    return DatabaseUrl(
        name=database,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=host,
        port=port,
        options=query,
    )


def check_redis_url(name: str, url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name} must start with redis://, rediss:// or unix://, got {scheme or 'nothing'}://."
        )
    return url


def celery_broker_url(redis_url: str) -> str:
    """Celery spells a Redis unix socket ``redis+socket://``; TCP URLs pass through."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        query = f"?{parts.query}" if parts.query else ""
        return f"redis+socket://{parts.path}{query}"
    return redis_url
