"""From a stored connector to the ``ServerSpec`` the host runs: generic MCP servers and first-party kinds.

Generic servers (CON-1) run exactly what the admin entered. First-party kinds are in-tree MCP servers
(apps/connectors/servers/<kind>) started with this Python; their settings travel as environment
variables of the subprocess, built here from the connector's sealed configuration.
"""

from __future__ import annotations

import fnmatch
import os
import sys
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
    if draft.kind == Kind.POSTGRES:
        opts = draft.settings
        command, args, env, cwd = _first_party(
            "postgres",
            {
                "GABY_PG_URL": str(opts.get("url", "")),
                "GABY_PG_ALLOW_WRITES": "1" if opts.get("allow_writes") else "0",
                "GABY_PG_ROW_CAP": str(opts.get("row_cap", 200)),
                "GABY_PG_STATEMENT_TIMEOUT_MS": str(opts.get("statement_timeout_ms", 5000)),
                "GABY_PG_MAX_WRITE_ROWS": str(opts.get("max_write_rows", 100)),
            },
        )
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
