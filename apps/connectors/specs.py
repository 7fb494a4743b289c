"""From a stored connector to the ``ServerSpec`` the host runs: generic MCP servers and first-party kinds.

Generic servers (CON-1) run exactly what the admin entered. First-party kinds are in-tree MCP servers
(apps/connectors/servers/<kind>) started with this Python; their settings travel as environment
variables of the subprocess, built here from the connector's sealed configuration.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.connectors.host import ServerSpec
from apps.connectors.models import Kind, Transport


@dataclass
class Draft:
    """A connector's configuration as entered, before or after it is stored (secrets in clear: never render)."""

    kind: str
    name: str
    transport: str = Transport.STDIO
    command: str = ""
    args: list[str] = field(default_factory=list)
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)  # secret values
    headers: dict[str, str] = field(default_factory=dict)  # secret values
    settings: dict[str, Any] = field(default_factory=dict)  # first-party settings; secret ones sealed too

    def secrets(self) -> dict[str, Any]:
        return {"env": self.env, "headers": self.headers, "settings": self.settings}

    def secret_keys(self) -> list[str]:
        return sorted(
            [f"env:{key}" for key in self.env]
            + [f"header:{key}" for key in self.headers]
            + [f"setting:{key}" for key in self.settings]
        )


def postgres_draft(*, name: str, url: str, allow_writes: bool, row_cap: int, statement_timeout_ms: int) -> Draft:
    """The first-party PostgreSQL connector as entered (form or CLI); ``spec_for`` reads these settings."""
    return Draft(
        kind=Kind.POSTGRES,
        name=name,
        transport=Transport.STDIO,
        settings={
            "url": url,
            "allow_writes": allow_writes,
            "row_cap": row_cap,
            "statement_timeout_ms": statement_timeout_ms,
        },
    )


def keycloak_draft(
    *,
    name: str,
    url: str,
    realm: str,
    client_id: str = "",
    client_secret: str = "",
    username: str = "",
    password: str = "",
    auth_realm: str = "",
) -> Draft:
    """The first-party Keycloak connector: a service-account client (client credentials) or an admin user."""
    return Draft(
        kind=Kind.KEYCLOAK,
        name=name,
        settings={
            "url": url.rstrip("/"),
            "realm": realm,
            "auth_realm": auth_realm,
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
        },
    )


def stripe_draft(*, name: str, api_key: str, api_base: str = "") -> Draft:
    """The first-party Stripe connector: a secret or (better) restricted API key."""
    return Draft(kind=Kind.STRIPE, name=name, settings={"api_key": api_key, "api_base": api_base.rstrip("/")})


def _postgres_env(opts: dict[str, Any]) -> dict[str, str]:
    return {
        "GABY_PG_URL": str(opts.get("url", "")),
        "GABY_PG_ALLOW_WRITES": "1" if opts.get("allow_writes") else "0",
        "GABY_PG_ROW_CAP": str(opts.get("row_cap", 200)),
        "GABY_PG_STATEMENT_TIMEOUT_MS": str(opts.get("statement_timeout_ms", 5000)),
        "GABY_PG_MAX_WRITE_ROWS": str(opts.get("max_write_rows", 100)),
    }


def _keycloak_env(opts: dict[str, Any]) -> dict[str, str]:
    env = {
        "GABY_KC_URL": str(opts.get("url", "")),
        "GABY_KC_REALM": str(opts.get("realm", "")),
        "GABY_KC_AUTH_REALM": str(opts.get("auth_realm", "")),
        "GABY_KC_CLIENT_ID": str(opts.get("client_id", "")),
        "GABY_KC_CLIENT_SECRET": str(opts.get("client_secret", "")),
        "GABY_KC_USERNAME": str(opts.get("username", "")),
        "GABY_KC_PASSWORD": str(opts.get("password", "")),
    }
    if opts.get("page_size"):
        env["GABY_KC_PAGE_SIZE"] = str(opts["page_size"])
    return env


def _stripe_env(opts: dict[str, Any]) -> dict[str, str]:
    env = {"GABY_STRIPE_API_KEY": str(opts.get("api_key", "")), "GABY_STRIPE_API_BASE": str(opts.get("api_base", ""))}
    if opts.get("page_size"):
        env["GABY_STRIPE_PAGE_SIZE"] = str(opts["page_size"])
    return env


# First-party kinds: the in-tree server module (apps/connectors/servers/<module>) and its environment.
FIRST_PARTY: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, str]]]] = {
    Kind.POSTGRES: ("postgres", _postgres_env),
    Kind.KEYCLOAK: ("keycloak", _keycloak_env),
    Kind.STRIPE: ("stripe", _stripe_env),
}


def check_command_allowed(command: str, *, msp_staff: bool) -> None:
    """Client admins may start only allow-listed executables on the Gaby host; MSP staff any command."""
    if msp_staff:
        return
    name = os.path.basename(command)
    if not any(fnmatch.fnmatch(name, pattern) for pattern in settings.CONNECTOR_STDIO_COMMANDS):
        allowed = ", ".join(settings.CONNECTOR_STDIO_COMMANDS) or "none"
        raise ValidationError(
            {
                "command": f"{name!r} is not on this install's list of MCP server commands a client admin may start "
                f"({allowed}). Ask your MSP to add it, or to set GABY_CONNECTOR_STDIO_COMMANDS."
            }
        )


def _first_party(module: str, env: dict[str, str]) -> tuple[str, tuple[str, ...], dict[str, str], str]:
    return sys.executable, ("-m", f"apps.connectors.servers.{module}"), env, str(settings.BASE_DIR)


def spec_for(draft: Draft, *, label: str) -> ServerSpec:
    common: dict[str, Any] = {
        "label": label,
        "connect_timeout": float(settings.CONNECTOR_CONNECT_TIMEOUT),
        "call_timeout": float(settings.CONNECTOR_CALL_TIMEOUT),
        "max_concurrency": settings.CONNECTOR_MAX_CONCURRENCY,
    }
    if draft.kind in FIRST_PARTY:
        module, env_for = FIRST_PARTY[draft.kind]
        command, args, env, cwd = _first_party(module, env_for(draft.settings))
        return ServerSpec(
            transport="stdio", command=command, args=args, env=tuple(sorted(env.items())), cwd=cwd, **common
        )
    if draft.transport == Transport.HTTP:
        return ServerSpec(transport="http", url=draft.url, headers=tuple(sorted(draft.headers.items())), **common)
    return ServerSpec(
        transport="stdio",
        command=draft.command,
        args=tuple(draft.args),
        env=tuple(sorted(draft.env.items())),
        **common,
    )
