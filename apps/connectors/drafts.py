"""A connector's configuration as an admin enters it (``Draft``): checked before it is used, opened when stored.

``validate_draft`` refuses what must not run or be reached (a command outside the allowed list, a URL the
outbound policy refuses, missing credentials), with the field to fix; ``draft_of`` opens a stored
connector's sealed secrets back into a ``Draft`` for the host. specs.py turns a Draft into a ``ServerSpec``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.exceptions import ValidationError

from apps.accounts.models import User
from apps.connectors.models import Connector, Kind, Transport
from apps.connectors.specs import (
    FIRST_PARTY,
    Draft,
    check_code_settings,
    check_command_allowed,
    check_openapi_settings,
    check_vendor_url,
)
from apps.core.secrets import unseal_json
from tenants.models import Client


def draft_of(connector: Connector, client: Client) -> Draft:
    """The stored connector with its secrets opened (for the host only; never render a Draft)."""
    secrets = unseal_json(client, connector.sealed_config, purpose=connector.purpose) if connector.sealed_config else {}
    return Draft(
        kind=connector.kind,
        name=connector.name,
        transport=connector.transport,
        command=connector.command,
        args=list(connector.args),
        url=connector.url,
        env=secrets.get("env", {}),
        headers=secrets.get("headers", {}),
        settings=secrets.get("settings", {}),
    )


def validate_draft(draft: Draft, *, actor: User | None, operator: bool = False) -> None:
    """``operator``: the install's own operator (the CLI, with shell access) may start any command."""
    trusted = operator or bool(actor and actor.is_msp_staff)
    if draft.kind not in FIRST_PARTY and draft.transport != Transport.HTTP:  # spec_for will start draft.command
        if not draft.command.strip():
            raise ValidationError({"command": "Enter the command that starts the MCP server."})
        check_command_allowed(draft.command, msp_staff=trusted)
    if draft.transport == Transport.HTTP:
        if not draft.url.startswith(("http://", "https://")):
            raise ValidationError({"url": "Enter the MCP endpoint's http:// or https:// URL."})
        check_vendor_url({"url": draft.url}, "url")  # and again on every request (session.mcp_http_client)
    opts = draft.settings
    if draft.kind == Kind.POSTGRES and not str(opts.get("url", "")).startswith(("postgres://", "postgresql://")):
        raise ValidationError({"url": "Enter a postgresql:// URL (a read-only role is best)."})
    if draft.kind == Kind.GIT_SOURCE:
        check_code_settings(draft.settings, trusted=trusted)
    if draft.kind == Kind.OPENAPI:
        check_openapi_settings(draft.settings, trusted=trusted)
    if draft.kind == Kind.KEYCLOAK:
        if not str(opts.get("url", "")).startswith(("http://", "https://")):
            raise ValidationError({"url": "Enter Keycloak's base URL, e.g. https://sso.example.com."})
        check_vendor_url(opts, "url")
        if not opts.get("realm"):
            raise ValidationError({"realm": "Enter the realm whose users Gaby should look at."})
        if not (opts.get("client_id") and opts.get("client_secret")) and not (
            opts.get("username") and opts.get("password")
        ):
            raise ValidationError(
                {"client_secret": "Enter a client id and secret (service account), or an admin user and password."}
            )
    if draft.kind == Kind.STRIPE:
        key = str(opts.get("api_key", ""))
        if not key.startswith(("sk_", "rk_")):
            raise ValidationError({"api_key": "Enter a Stripe secret key (sk_…) or, better, a restricted key (rk_…)."})
        base = str(opts.get("api_base", ""))
        if base and not base.startswith(("http://", "https://")):
            raise ValidationError({"api_base": "Leave the API base empty, or enter an http(s):// URL."})
        check_vendor_url(opts, "api_base")
    if draft.kind == Kind.NINJAONE:
        if not str(opts.get("url", "")).startswith(("http://", "https://")):
            raise ValidationError({"url": "Enter your NinjaOne instance URL, e.g. https://app.ninjarmm.com."})
        check_vendor_url(opts, "url")
        if not (opts.get("client_id") and opts.get("client_secret")):
            raise ValidationError({"client_secret": "Enter the API client app's client id and client secret."})
        if not opts.get("organizations"):
            raise ValidationError(
                {
                    "organizations": "Enter the NinjaOne organization id(s) of this client (see Administration > "
                    "Organizations): the connector sees no other organization."
                }
            )
    if draft.kind == Kind.MICROSOFT365:
        check_microsoft365_settings(opts, trusted=trusted)


GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DOMAIN = re.compile(r"(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def check_microsoft365_settings(opts: dict[str, Any], *, trusted: bool) -> None:
    tenant = str(opts.get("tenant_id", ""))
    if not (GUID.fullmatch(tenant) or DOMAIN.fullmatch(tenant)):
        raise ValidationError(
            {"tenant_id": "Enter the customer's tenant id (a GUID, Entra admin center → Overview) or its domain."}
        )
    if not GUID.fullmatch(str(opts.get("client_id", ""))):
        raise ValidationError(
            {"client_id": "Enter the app registration's Application (client) ID: a GUID from its Overview page."}
        )
    if not opts.get("client_secret"):
        raise ValidationError({"client_secret": "Enter the value of a client secret of that app registration."})
    for name in ("authority", "graph_url"):
        url = str(opts.get(name, ""))
        if url and not url.startswith("https://"):
            raise ValidationError({name: "Leave it empty for Microsoft's endpoint, or enter an https:// URL."})
        check_vendor_url(opts, name)
    ca_file = str(opts.get("ca_file", ""))
    if ca_file and not trusted:
        raise ValidationError({"ca_file": "Only MSP staff may point Gaby at a CA file on its host."})
    if ca_file and not os.path.isfile(ca_file):
        raise ValidationError({"ca_file": f"{ca_file} is not a file on the Gaby host."})
