"""``manage.py gaby connect postgres|code|openapi|keycloak|stripe|ninjaone|mcp --client SLUG ...`` (FND-3): test,
then save.

Secrets can come from the environment instead of the command line (shell history, ``ps``):
``--client-secret-env NAME``, ``--password-env NAME``, ``--api-key-env NAME``.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.connectors import cli_m365_sspr as m365_sspr_command
from apps.connectors import cli_ninjaone as ninjaone_command
from apps.connectors import services
from apps.connectors.calls import ConnectorError
from apps.connectors.models import AutonomyLevel, Kind, Transport
from apps.connectors.specs import (
    AUTH_KINDS,
    Draft,
    code_draft,
    keycloak_draft,
    microsoft365_draft,
    ninjaone_draft,
    openapi_draft,
    postgres_draft,
    stripe_draft,
)
from apps.core.cli_mapping import client_by_slug
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    connect = subparsers.add_parser("connect", help="Connect a system to a client: test it, list its tools, save it.")
    kinds = connect.add_subparsers(dest="kind", metavar="KIND", required=True)

    pg = kinds.add_parser("postgres", help="A PostgreSQL database (read-only unless --allow-writes).")
    pg.add_argument("--client", required=True, help="The client's slug.")
    pg.add_argument("--url", required=True, help="postgresql://user:password@host:5432/db (a read-only role is best).")
    pg.add_argument("--name", default="PostgreSQL", help="Connector name. Default: PostgreSQL.")
    pg.add_argument("--allow-writes", action="store_true", help="Add the write tool (dry run by default).")
    pg.add_argument("--row-cap", type=int, default=200)
    pg.add_argument("--statement-timeout-ms", type=int, default=5000)
    pg.add_argument("--production", action="store_true", help="Mark it as a production system.")
    pg.set_defaults(handler=connect_postgres)

    code = kinds.add_parser("code", help="A git repository Gaby searches and reads (read-only).")
    code.add_argument("--client", required=True, help="The client's slug.")
    code.add_argument("--repo", required=True, help="A clone URL (https://, ssh://, git@…) or a path on this host.")
    code.add_argument("--name", default="Source code", help="Connector name. Default: Source code.")
    code.add_argument("--ref", default="", help="Branch, tag or commit to read. Default: the default branch.")
    code.add_argument("--token-env", default="", help="Name of an environment variable holding an access token.")
    code.set_defaults(handler=connect_code)

    api = kinds.add_parser("openapi", help="A REST API from its OpenAPI 3 document: one tool per operation.")
    api.add_argument("--client", required=True, help="The client's slug.")
    api.add_argument("--spec", required=True, help="URL or file of the OpenAPI document (JSON or YAML).")
    api.add_argument("--name", required=True)
    api.add_argument("--base-url", default="", help="Override the document's server URL.")
    api.add_argument("--auth", choices=AUTH_KINDS, default="none")
    api.add_argument("--auth-name", default="", help="API key: the header or query parameter name.")
    api.add_argument("--username", default="", help="HTTP basic: the user name.")
    api.add_argument("--secret-env", default="", help="Name of an environment variable holding the token/key/password.")
    api.add_argument("--read-op", action="append", default=[], help="An operation that only reads; repeatable.")
    api.add_argument("--write-op", action="append", default=[], help="An operation that writes; repeatable.")
    api.set_defaults(handler=connect_openapi)

    kc = kinds.add_parser("keycloak", help="A Keycloak realm (admin REST API).")
    kc.add_argument("--client", required=True, help="The client's slug.")
    kc.add_argument("--url", required=True, help="Keycloak's base URL, e.g. https://sso.acme.io")
    kc.add_argument("--realm", required=True, help="The realm whose users Gaby looks at.")
    kc.add_argument("--name", default="Keycloak", help="Connector name. Default: Keycloak.")
    kc.add_argument("--client-id", default="", help="A confidential client with a service account.")
    _secret_args(kc, "--client-secret", "The client's secret.")
    kc.add_argument("--username", default="", help="Or an admin user (password grant, client admin-cli).")
    _secret_args(kc, "--password", "The admin user's password.")
    kc.add_argument("--auth-realm", default="", help="The credentials' realm, if not --realm (e.g. master).")
    kc.add_argument("--production", action="store_true", help="Mark it as a production system.")
    kc.set_defaults(handler=connect_keycloak)

    st = kinds.add_parser("stripe", help="A Stripe account (REST API).")
    st.add_argument("--client", required=True, help="The client's slug.")
    _secret_args(st, "--api-key", "A secret (sk_...) or restricted (rk_...) key; restricted is best.")
    st.add_argument("--api-base", default="", help="Default https://api.stripe.com.")
    st.add_argument("--name", default="Stripe", help="Connector name. Default: Stripe.")
    st.add_argument("--production", action="store_true", help="Mark it as a production system.")
    st.set_defaults(handler=connect_stripe)

    nj = kinds.add_parser(
        "ninjaone", help="A NinjaOne RMM instance (public API v2), limited to this client's organizations."
    )
    nj.add_argument("--client", required=True, help="The client's slug.")
    nj.add_argument(
        "--url", required=True, help="The instance, e.g. https://app.ninjarmm.com or https://eu.ninjarmm.com"
    )
    nj.add_argument("--client-id", required=True, help="An API client app with the client-credentials grant.")
    _secret_args(nj, "--client-secret", "The client app's secret.")
    nj.add_argument(
        "--organization", action="append", type=int, required=True, help="A NinjaOne organization id; repeatable."
    )
    nj.add_argument(
        "--allow-script", action="append", default=[], help="A library script (id or name) run without approval."
    )
    nj.add_argument("--name", default="NinjaOne", help="Connector name. Default: NinjaOne.")
    nj.add_argument("--production", action="store_true", help="Mark it as a production system.")
    nj.set_defaults(handler=connect_ninjaone)

    m365 = kinds.add_parser("microsoft365", help="A Microsoft 365 tenant (Entra ID, Intune) through Microsoft Graph.")
    m365.add_argument("--client", required=True, help="The client's slug.")
    m365.add_argument("--tenant-id", required=True, help="The customer's tenant id (GUID) or verified domain.")
    m365.add_argument("--client-id", required=True, help="The app registration's Application (client) ID.")
    _secret_args(m365, "--client-secret", "The app registration's client secret (its value).")
    m365.add_argument("--authority", default="", help="Default https://login.microsoftonline.com.")
    m365.add_argument("--graph-url", default="", help="Default https://graph.microsoft.com.")
    m365.add_argument("--ca-file", default="", help="A private CA for those two hosts (the stand-in's).")
    m365.add_argument(
        "--sspr-methods",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="Self-service password reset is on for every user of this tenant and asks for this many methods "
        "(default 0: ask Entra ID's registration report, which needs Entra ID P1).",
    )
    m365.add_argument("--name", default="Microsoft 365", help="Connector name. Default: Microsoft 365.")
    m365.add_argument("--production", action="store_true", help="Mark it as a production system.")
    m365.set_defaults(handler=connect_microsoft365)

    mcp = kinds.add_parser("mcp", help="Any MCP server: --command (stdio) or --url (streamable HTTP).")
    mcp.add_argument("--client", required=True, help="The client's slug.")
    mcp.add_argument("--name", required=True)
    group = mcp.add_mutually_exclusive_group(required=True)
    group.add_argument("--command", dest="server_command", help="Executable that starts the server (stdio).")
    group.add_argument("--url", help="The server's MCP endpoint (streamable HTTP).")
    mcp.add_argument("--arg", action="append", default=[], help="One argument for --command; repeat as needed.")
    mcp.add_argument("--env", action="append", default=[], help="NAME=value for the server (sealed); repeatable.")
    mcp.set_defaults(handler=connect_mcp)

    ninjaone_command.register(subparsers, command)
    m365_sspr_command.register(subparsers, command)


def _secret_args(parser: Any, flag: str, help_text: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(flag, default="", help=help_text)
    group.add_argument(f"{flag}-env", default="", metavar="NAME", help="Read it from this environment variable.")


def _secret(options: dict[str, Any], name: str) -> str:
    """The value of ``--name`` or of the variable ``--name-env`` names."""
    variable = options.get(f"{name}_env") or ""
    if variable:
        if variable not in os.environ:
            raise CommandError(f"--{name.replace('_', '-')}-env {variable}: that environment variable is not set.")
        return os.environ[variable]
    return str(options.get(name) or "")


def _save(command: BaseCommand, client: Client, draft: Draft, **options: Any) -> None:
    with tenant_context(client):
        try:
            connector = services.connect(client=client, draft=draft, actor=None, operator=True, **options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except ConnectorError as exc:
            raise CommandError(f"The connection test failed, nothing was saved: {exc}") from exc
        tools = list(connector.tools.order_by("access", "name"))
    command.stdout.write(f"Connected {connector.name} to {client.name}: {len(tools)} tools")
    for tool in tools:
        command.stdout.write(f"  {tool.access:<5} {tool.name}")


def connect_postgres(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = postgres_draft(
        name=options["name"],
        url=options["url"],
        allow_writes=options["allow_writes"],
        row_cap=options["row_cap"],
        statement_timeout_ms=options["statement_timeout_ms"],
    )
    _save(command, client, draft, autonomy=AutonomyLevel.INVESTIGATE, is_production=options["production"])


def _secret_from_env(name: str) -> str:
    """Secrets come from the environment, never from argv (which other users of the host can read)."""
    if not name:
        return ""
    value = os.environ.get(name, "")
    if not value:
        raise CommandError(f"The environment variable {name} is empty or not set.")
    return value


def connect_code(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = code_draft(
        name=options["name"], repo=options["repo"], ref=options["ref"], token=_secret_from_env(options["token_env"])
    )
    _save(command, client, draft)


def connect_openapi(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = openapi_draft(
        name=options["name"],
        spec=options["spec"],
        base_url=options["base_url"],
        auth=options["auth"],
        auth_name=options["auth_name"],
        username=options["username"],
        secret=_secret_from_env(options["secret_env"]),
        read_ops=options["read_op"],
        write_ops=options["write_op"],
    )
    _save(command, client, draft)


def connect_keycloak(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = keycloak_draft(
        name=options["name"],
        url=options["url"],
        realm=options["realm"],
        client_id=options["client_id"],
        client_secret=_secret(options, "client_secret"),
        username=options["username"],
        password=_secret(options, "password"),
        auth_realm=options["auth_realm"],
    )
    _save(command, client, draft, is_production=options["production"])


def connect_stripe(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = stripe_draft(name=options["name"], api_key=_secret(options, "api_key"), api_base=options["api_base"])
    _save(command, client, draft, is_production=options["production"])


def connect_ninjaone(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = ninjaone_draft(
        name=options["name"],
        url=options["url"],
        client_id=options["client_id"],
        client_secret=_secret(options, "client_secret"),
        organizations=options["organization"],
        allowed_scripts=options["allow_script"],
    )
    _save(command, client, draft, is_production=options["production"])


def connect_microsoft365(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    draft = microsoft365_draft(
        name=options["name"],
        tenant_id=options["tenant_id"],
        client_id=options["client_id"],
        client_secret=_secret(options, "client_secret"),
        authority=options["authority"],
        graph_url=options["graph_url"],
        ca_file=options["ca_file"],
        sspr_methods=options["sspr_methods"],
    )
    _save(command, client, draft, is_production=options["production"])


def connect_mcp(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    env: dict[str, str] = {}
    for pair in options["env"]:
        name, found, value = pair.partition("=")
        if not found:
            raise CommandError(f"--env {pair!r}: write NAME=value.")
        env[name] = value
    if options["url"]:
        draft = Draft(kind=Kind.MCP_HTTP, name=options["name"], transport=Transport.HTTP, url=options["url"])
    else:
        draft = Draft(
            kind=Kind.MCP_STDIO, name=options["name"], command=options["server_command"], args=options["arg"], env=env
        )
    _save(command, client, draft)  # the CLI runs with the operator's shell authority: any command is allowed
