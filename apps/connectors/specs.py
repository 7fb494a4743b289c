"""From a stored connector to the ``ServerSpec`` the host runs: generic MCP servers and first-party kinds.

Generic servers (CON-1) run exactly what the admin entered. First-party kinds are in-tree MCP servers
(apps/connectors/servers/<kind>) started with this Python; their settings travel as environment
variables of the subprocess, built here from the connector's sealed configuration.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.connectors.calls import ServerSpec
from apps.connectors.models import Kind, Transport
from apps.connectors.servers.code.repo import is_remote
from apps.core import outbound_git
from apps.core.outbound import ENV_NAME as OUTBOUND_ALLOW_ENV
from apps.core.outbound import OutboundRefused, check_url


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
    return Draft(kind=Kind.STRIPE, name=name, settings={"api_key": api_key.strip(), "api_base": api_base.rstrip("/")})


def ninjaone_draft(
    *,
    name: str,
    url: str,
    client_id: str,
    client_secret: str,
    organizations: list[int],
    allowed_scripts: list[str] | None = None,
) -> Draft:
    """The first-party NinjaOne RMM connector: an API client app (client credentials) and the organization(s) of
    this Gaby client — the connector never sees the MSP's other organizations."""
    return Draft(
        kind=Kind.NINJAONE,
        name=name,
        settings={
            "url": url.rstrip("/"),
            "client_id": client_id.strip(),
            "client_secret": client_secret,
            "organizations": sorted({int(org) for org in organizations}),
            "allowed_scripts": [script.strip() for script in allowed_scripts or [] if script.strip()],
        },
    )


def microsoft365_draft(
    *,
    name: str,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    authority: str = "",
    graph_url: str = "",
    ca_file: str = "",
    sspr_methods: int = 0,
) -> Draft:
    """The first-party Microsoft 365 connector: one customer tenant, an app registration's client id and secret.

    ``authority`` and ``graph_url`` default to Microsoft's endpoints (empty); the stand-in and national clouds set
    them. ``ca_file``: a private CA to trust for those two hosts (the stand-in's), set by the operator only.
    ``sspr_methods``: the MSP declares self-service password reset on for every user, asking for this many
    registered methods (1 or 2; 0 leaves it to Entra ID's registration report, which needs Entra ID P1)."""
    if sspr_methods not in (0, 1, 2):
        raise ValueError("Self-service password reset asks for 1 or 2 registered methods (0: not declared).")
    return Draft(
        kind=Kind.MICROSOFT365,
        name=name,
        settings={
            "tenant_id": tenant_id.strip(),
            "client_id": client_id.strip(),
            "client_secret": client_secret,
            "authority": authority.strip().rstrip("/"),
            "graph_url": graph_url.strip().rstrip("/"),
            "ca_file": ca_file.strip(),
            "sspr_methods": sspr_methods,
        },
    )


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
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }
    if opts.get("page_size"):
        env["GABY_KC_PAGE_SIZE"] = str(opts["page_size"])
    return env


def _stripe_env(opts: dict[str, Any]) -> dict[str, str]:
    env = {
        "GABY_STRIPE_API_KEY": str(opts.get("api_key", "")),
        "GABY_STRIPE_API_BASE": str(opts.get("api_base", "")),
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }
    if opts.get("page_size"):
        env["GABY_STRIPE_PAGE_SIZE"] = str(opts["page_size"])
    return env


def _ninjaone_env(opts: dict[str, Any]) -> dict[str, str]:
    env = {
        "GABY_NINJA_URL": str(opts.get("url", "")),
        "GABY_NINJA_CLIENT_ID": str(opts.get("client_id", "")),
        "GABY_NINJA_CLIENT_SECRET": str(opts.get("client_secret", "")),
        "GABY_NINJA_ORGANIZATIONS": ",".join(str(org) for org in opts.get("organizations", [])),
        "GABY_NINJA_ALLOWED_SCRIPTS": ",".join(str(script) for script in opts.get("allowed_scripts", [])),
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }
    for key, name in (("page_size", "GABY_NINJA_PAGE_SIZE"), ("script_wait_s", "GABY_NINJA_SCRIPT_WAIT_S")):
        if opts.get(key):
            env[name] = str(opts[key])
    return env


def _microsoft365_env(opts: dict[str, Any]) -> dict[str, str]:
    env = {
        "GABY_M365_TENANT_ID": str(opts.get("tenant_id", "")),
        "GABY_M365_CLIENT_ID": str(opts.get("client_id", "")),
        "GABY_M365_CLIENT_SECRET": str(opts.get("client_secret", "")),
        "GABY_M365_AUTHORITY": str(opts.get("authority", "")),
        "GABY_M365_GRAPH_URL": str(opts.get("graph_url", "")),
        "GABY_M365_CA_FILE": str(opts.get("ca_file", "")),
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }
    if opts.get("page_size"):
        env["GABY_M365_PAGE_SIZE"] = str(opts["page_size"])
    if opts.get("sspr_methods"):
        env["GABY_M365_SSPR_METHODS"] = str(opts["sspr_methods"])
    return env


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


def code_draft(*, name: str, repo: str, ref: str = "", token: str = "", refresh_s: int = 300) -> Draft:
    """The source-code connector (FND-5): a local path or a clone URL, read at ``ref`` (default HEAD)."""
    return Draft(
        kind=Kind.GIT_SOURCE,
        name=name,
        settings={"repo": repo.strip(), "ref": ref.strip(), "token": token, "refresh_s": refresh_s},
    )


def openapi_draft(
    *,
    name: str,
    spec: str,
    base_url: str = "",
    auth: str = "none",
    auth_name: str = "",
    secret: str = "",
    username: str = "",
    read_ops: list[str] | None = None,
    write_ops: list[str] | None = None,
) -> Draft:
    """A REST API driven by its OpenAPI 3 document (URL or file); the credential is sealed with the rest."""
    return Draft(
        kind=Kind.OPENAPI,
        name=name,
        settings={
            "spec": spec.strip(),
            "base_url": base_url.strip(),
            "auth": auth or "none",
            "auth_name": auth_name.strip(),
            "secret": secret,
            "username": username,
            "read_ops": read_ops or [],
            "write_ops": write_ops or [],
        },
    )


# What a client admin may clone: HTTPS only. An ssh:// or git@ remote would use the Gaby host's own SSH keys, and a
# path or file:// URL would read the host's disk: both only for MSP staff and the operator.
CLIENT_REPO_SCHEMES = ("https://",)
AUTH_KINDS = ("none", "bearer", "header", "query", "basic")


def check_code_settings(opts: dict[str, Any], *, trusted: bool) -> None:
    """A clone URL for everyone; a path on the Gaby host (or file://) only for MSP staff and the operator."""
    repo = str(opts.get("repo", "")).strip()
    if not repo:
        raise ValidationError(
            {"repo": "Enter the repository's clone URL (https://… or git@…), or as MSP staff a path."}
        )
    if not repo.startswith(CLIENT_REPO_SCHEMES) and not trusted:
        raise ValidationError(
            {
                "repo": "Enter an https:// clone URL (with a token for a private repository): only MSP staff may point "
                "Gaby at a path on its host or use its SSH keys."
            }
        )
    if repo.startswith("-"):
        raise ValidationError({"repo": "Enter a clone URL or a path, not an option."})
    if is_remote(repo) and not repo.startswith("file://"):
        try:
            outbound_git.check_remote(repo)  # the connector checks again before every clone and fetch
        except OutboundRefused as exc:
            raise ValidationError({"repo": str(exc)}) from None


def check_vendor_url(opts: dict[str, Any], name: str) -> None:
    """A first-party connector's vendor URL obeys the outbound-URL policy; its server checks every request again."""
    url = str(opts.get(name, "")).strip()
    if url.startswith(("http://", "https://")):
        try:
            check_url(url)
        except OutboundRefused as exc:
            raise ValidationError({name: str(exc)}) from None


def check_openapi_settings(opts: dict[str, Any], *, trusted: bool) -> None:
    spec = str(opts.get("spec", "")).strip()
    if not spec:
        raise ValidationError({"spec": "Enter the URL of the API's OpenAPI document (JSON or YAML)."})
    if not spec.startswith(("http://", "https://")) and not trusted:
        raise ValidationError({"spec": "Enter an http(s) URL: only MSP staff may load a file from the Gaby host."})
    base = str(opts.get("base_url", "")).strip()
    if base and not base.startswith(("http://", "https://")):
        raise ValidationError({"base_url": "Enter the API's base URL with http:// or https://, or leave it empty."})
    for name, url in (("spec", spec), ("base_url", base)):
        if url.startswith(("http://", "https://")):
            try:
                check_url(url)  # the outbound-URL policy; the server checks every request again
            except OutboundRefused as exc:
                raise ValidationError({name: str(exc)}) from None
    auth = str(opts.get("auth", "none"))
    if auth not in AUTH_KINDS:
        raise ValidationError({"auth": f"Pick one of: {', '.join(AUTH_KINDS)}."})
    if auth in ("header", "query") and not str(opts.get("auth_name", "")).strip():
        raise ValidationError({"auth_name": "Enter the name of the header or query parameter that carries the key."})
    if auth != "none" and not opts.get("secret"):
        raise ValidationError({"secret": "Enter the token, key or password for this authentication."})
    if auth == "basic" and not str(opts.get("username", "")).strip():
        raise ValidationError({"username": "Enter the user name for HTTP basic authentication."})


def code_cache_dir(label: str, repo: str) -> str:
    """Where a remote repository's mirror lives: per client and connector, keyed by the URL it clones."""
    digest = hashlib.sha256(f"{label}\0{repo}".encode()).hexdigest()[:20]
    return str(Path(settings.DATA_DIR) / "connectors" / "code" / f"{digest}.git")


def _code_env(opts: dict[str, Any]) -> dict[str, str]:
    return {
        "GABY_CODE_REPO": str(opts.get("repo", "")),
        "GABY_CODE_REF": str(opts.get("ref", "")),
        "GABY_CODE_TOKEN": str(opts.get("token", "")),
        "GABY_CODE_REFRESH_S": str(opts.get("refresh_s", 300)),
        "HOME": os.environ.get("HOME", "/nonexistent"),  # git reads ~/.ssh for ssh:// remotes
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }


def _openapi_env(opts: dict[str, Any]) -> dict[str, str]:
    return {
        "GABY_OPENAPI_SPEC": str(opts.get("spec", "")),
        "GABY_OPENAPI_BASE_URL": str(opts.get("base_url", "")),
        "GABY_OPENAPI_AUTH": str(opts.get("auth", "none")),
        "GABY_OPENAPI_AUTH_NAME": str(opts.get("auth_name", "")),
        "GABY_OPENAPI_SECRET": str(opts.get("secret", "")),
        "GABY_OPENAPI_USERNAME": str(opts.get("username", "")),
        "GABY_OPENAPI_READ_OPS": ",".join(opts.get("read_ops", [])),
        "GABY_OPENAPI_WRITE_OPS": ",".join(opts.get("write_ops", [])),
        "GABY_OPENAPI_TIMEOUT_S": str(settings.CONNECTOR_CALL_TIMEOUT),
        OUTBOUND_ALLOW_ENV: ",".join(settings.OUTBOUND_ALLOW),  # the server runs without Django's settings
    }


# First-party kinds: the in-tree server package (apps/connectors/servers/<module>) and how its settings
# become the subprocess's environment. The catalog (catalog.yaml) names the same modules.
FIRST_PARTY: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, str]]]] = {
    Kind.POSTGRES: ("postgres", _postgres_env),
    Kind.GIT_SOURCE: ("code", _code_env),
    Kind.OPENAPI: ("openapi", _openapi_env),
    Kind.KEYCLOAK: ("keycloak", _keycloak_env),
    Kind.STRIPE: ("stripe", _stripe_env),
    Kind.NINJAONE: ("ninjaone", _ninjaone_env),
    Kind.MICROSOFT365: ("microsoft365", _microsoft365_env),
}


def first_party_spec(module: str, env: dict[str, str], **common: Any) -> ServerSpec:
    """An in-tree server started with this Python from the project root."""
    return ServerSpec(
        transport="stdio",
        command=sys.executable,
        args=("-m", f"apps.connectors.servers.{module}"),
        env=tuple(sorted(env.items())),
        cwd=str(settings.BASE_DIR),
        **common,
    )


def spec_for(draft: Draft, *, label: str) -> ServerSpec:
    common: dict[str, Any] = {
        "label": label,
        "connect_timeout": float(settings.CONNECTOR_CONNECT_TIMEOUT),
        "call_timeout": float(settings.CONNECTOR_CALL_TIMEOUT),
        "max_concurrency": settings.CONNECTOR_MAX_CONCURRENCY,
    }
    if draft.kind in FIRST_PARTY:
        module, env_of = FIRST_PARTY[draft.kind]
        env = env_of(draft.settings)
        if draft.kind == Kind.GIT_SOURCE:  # a remote's mirror: per client and connector, so from the label
            env["GABY_CODE_CACHE_DIR"] = code_cache_dir(label, env["GABY_CODE_REPO"])
        return first_party_spec(module, env, **common)
    if draft.transport == Transport.HTTP:
        return ServerSpec(transport="http", url=draft.url, headers=tuple(sorted(draft.headers.items())), **common)
    return ServerSpec(
        transport="stdio",
        command=draft.command,
        args=tuple(draft.args),
        env=tuple(sorted(draft.env.items())),
        **common,
    )
