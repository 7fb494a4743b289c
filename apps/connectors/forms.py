"""Forms of the Connect screens: any MCP server (command or URL) and the first-party connectors."""

from __future__ import annotations

import shlex
from typing import Any

from django import forms

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


def _pairs(text: str, separator: str, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, found, value = line.partition(separator)
        if not found or not key.strip():
            raise forms.ValidationError(f"Line {number}: write one {what} per line as NAME{separator}value.")
        pairs[key.strip()] = value.strip()
    return pairs


class _Common(forms.Form):
    name = forms.CharField(max_length=100, help_text="How Gaby and your team will call it, e.g. “Billing repo”.")
    autonomy = forms.ChoiceField(choices=AutonomyLevel.choices, initial=AutonomyLevel.INVESTIGATE)
    scopes = forms.CharField(required=False, help_text="Comma-separated, e.g. customers:read, invoices:read.")
    is_production = forms.BooleanField(required=False, label="Production system")

    def clean_scopes(self) -> list[str]:
        return [scope.strip() for scope in self.cleaned_data["scopes"].split(",") if scope.strip()]

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"scopes": data["scopes"], "autonomy": data["autonomy"], "is_production": data["is_production"]}


class McpServerForm(_Common):
    transport = forms.ChoiceField(choices=Transport.choices, initial=Transport.STDIO, widget=forms.RadioSelect)
    command = forms.CharField(required=False, max_length=500, help_text="stdio: e.g. mcp-server-git")
    args = forms.CharField(required=False, help_text="stdio: arguments as you would type them in a shell.")
    env = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="stdio: NAME=value per line (sealed)."
    )
    url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", help_text="e.g. https://mcp.acme.io/mcp"
    )
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="URL: Header: value per line, e.g. Authorization: Bearer … (sealed).",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("transport") == Transport.STDIO and not data.get("command", "").strip():
            self.add_error("command", "Enter the command that starts the MCP server.")
        if data.get("transport") == Transport.HTTP and not data.get("url"):
            self.add_error("url", "Enter the MCP server's URL.")
        try:
            data["args_list"] = shlex.split(data.get("args", ""))
        except ValueError as exc:
            self.add_error("args", f"Could not split the arguments: {exc}.")
        for field, separator, what in (("env", "=", "variable"), ("headers", ":", "header")):
            try:
                data[f"{field}_map"] = _pairs(data.get(field, ""), separator, what)
            except forms.ValidationError as exc:
                self.add_error(field, exc)
        return data

    def draft(self) -> Draft:
        data = self.cleaned_data
        http = data["transport"] == Transport.HTTP
        return Draft(
            kind=Kind.MCP_HTTP if http else Kind.MCP_STDIO,
            name=data["name"],
            transport=data["transport"],
            command="" if http else data["command"].strip(),
            args=[] if http else data["args_list"],
            url=data["url"] if http else "",
            env={} if http else data["env_map"],
            headers=data["headers_map"] if http else {},
        )


class PostgresForm(_Common):
    url = forms.CharField(
        max_length=1000, help_text="postgresql://user:password@host:5432/db — a read-only role is best."
    )
    allow_writes = forms.BooleanField(required=False, help_text="Adds a write tool (dry run first, 100 rows at most).")
    row_cap = forms.IntegerField(min_value=1, max_value=10_000, initial=200)
    statement_timeout_ms = forms.IntegerField(min_value=100, max_value=600_000, initial=5000)

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        if not url.startswith(("postgres://", "postgresql://")):
            raise forms.ValidationError("Enter a postgresql:// URL.")
        return url

    def draft(self) -> Draft:
        data = self.cleaned_data
        return postgres_draft(
            name=data["name"],
            url=data["url"],
            allow_writes=data["allow_writes"],
            row_cap=data["row_cap"],
            statement_timeout_ms=data["statement_timeout_ms"],
        )


AUTH_LABELS = ("None", "Bearer token", "API key in a header", "API key in the query", "HTTP basic")


def _secret_input() -> forms.PasswordInput:
    # Shown masked; kept in the form between "Test connection" and "Save" so it need not be typed twice.
    return forms.PasswordInput(render_value=True, attrs={"autocomplete": "off"})


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class CodeForm(_Common):
    repo = forms.CharField(
        max_length=1000,
        label="Repository",
        help_text="HTTPS clone URL, e.g. https://github.com/acme/billing.git (MSP staff: also ssh or a host path).",
    )
    ref = forms.CharField(
        required=False, max_length=200, help_text="Branch, tag or commit. Default: the default branch."
    )
    token = forms.CharField(
        required=False, widget=_secret_input(), help_text="For a private HTTPS repository: a read-only access token."
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return code_draft(name=data["name"], repo=data["repo"], ref=data["ref"], token=data["token"])


class OpenApiForm(_Common):
    spec = forms.CharField(
        max_length=1000, label="OpenAPI document", help_text="URL of the API's OpenAPI 3 document (JSON or YAML)."
    )
    base_url = forms.CharField(
        required=False, max_length=500, label="Base URL", help_text="Leave empty to use the document's server."
    )
    auth = forms.ChoiceField(
        choices=list(zip(AUTH_KINDS, AUTH_LABELS, strict=True)),
        initial="none",
        label="Authentication",
    )
    auth_name = forms.CharField(required=False, max_length=100, help_text="API key: the header or parameter name.")
    username = forms.CharField(required=False, max_length=200, help_text="HTTP basic only.")
    secret = forms.CharField(required=False, widget=_secret_input(), help_text="Token, key or password (sealed).")
    read_ops = forms.CharField(
        required=False, help_text="Operations that only read although not GET (comma-separated)."
    )
    write_ops = forms.CharField(required=False, help_text="GET operations that change something (comma-separated).")

    def draft(self) -> Draft:
        data = self.cleaned_data
        return openapi_draft(
            name=data["name"],
            spec=data["spec"],
            base_url=data["base_url"],
            auth=data["auth"],
            auth_name=data["auth_name"],
            secret=data["secret"],
            username=data["username"],
            read_ops=_names(data["read_ops"]),
            write_ops=_names(data["write_ops"]),
        )


def _secret(label: str, help_text: str, required: bool = False) -> forms.CharField:
    """A masked secret field; kept in the form between "Test connection" and "Save" (not yet stored)."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=2000,
        help_text=help_text,
        widget=_secret_input(),
    )


class KeycloakForm(_Common):
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text="Keycloak's base URL, e.g. https://sso.acme.io"
    )
    realm = forms.CharField(max_length=200, help_text="The realm your users sign in to.")
    client_id = forms.CharField(
        required=False, max_length=200, help_text="A confidential client with a service account (best)."
    )
    client_secret = _secret("Client secret", "Sealed. Its service account needs view-users (and manage-users to act).")
    username = forms.CharField(required=False, max_length=200, help_text="Or: an admin user (password grant).")
    password = _secret("Password", "Sealed.")
    auth_realm = forms.CharField(
        required=False, max_length=200, help_text="Only if the credentials live in another realm (e.g. master)."
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return keycloak_draft(
            name=data["name"],
            url=data["url"],
            realm=data["realm"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            username=data["username"],
            password=data["password"],
            auth_realm=data["auth_realm"],
        )


class StripeForm(_Common):
    api_key = _secret("API key", "Sealed. A restricted key (rk_…) with read access, plus write where Gaby acts.", True)
    api_base = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="API base URL",
        help_text="Leave empty for https://api.stripe.com.",
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return stripe_draft(name=data["name"], api_key=data["api_key"], api_base=data["api_base"] or "")


def _ids(text: str) -> list[int]:
    try:
        ids = sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
    except ValueError:
        raise forms.ValidationError("Enter organization ids as numbers separated by commas, e.g. 12, 15.") from None
    if not ids or min(ids) < 1:
        raise forms.ValidationError("Enter at least one NinjaOne organization id (a positive number).")
    return ids


class NinjaOneForm(_Common):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Instance URL",
        help_text="Where you sign in to NinjaOne: https://app.ninjarmm.com, https://eu.ninjarmm.com, ca., oc. …",
    )
    client_id = forms.CharField(max_length=200, help_text="An API client app with the client-credentials grant.")
    client_secret = _secret("Client secret", "Sealed. Scopes: monitoring (reads) and management (actions).", True)
    organizations = forms.CharField(
        max_length=500,
        label="Organization ids",
        help_text="This client's NinjaOne organization id(s), comma-separated: Gaby sees no other organization.",
    )
    allowed_scripts = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Library scripts (ids or exact names, comma-separated) Gaby may run without approval, e.g. "
        "Disk Cleanup. Any other script waits for an approver.",
    )

    def clean_organizations(self) -> list[int]:
        return _ids(self.cleaned_data["organizations"])

    def draft(self) -> Draft:
        data = self.cleaned_data
        return ninjaone_draft(
            name=data["name"],
            url=data["url"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            organizations=data["organizations"],
            allowed_scripts=_names(data["allowed_scripts"]),
        )


class Microsoft365Form(_Common):
    tenant_id = forms.CharField(
        max_length=253, label="Tenant ID", help_text="The customer's tenant: its ID (a GUID) or a verified domain."
    )
    client_id = forms.CharField(
        max_length=36, label="Application (client) ID", help_text="The app registration Gaby signs in as."
    )
    client_secret = _secret(
        "Client secret", "Sealed. The secret's value (not its ID); grant the app the permissions the docs list.", True
    )
    authority = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Leave empty for https://login.microsoftonline.com (a national cloud or the stand-in sets it).",
    )
    graph_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Graph URL",
        help_text="Leave empty for https://graph.microsoft.com.",
    )
    ca_file = forms.CharField(
        required=False,
        max_length=500,
        label="CA file",
        help_text="MSP staff only: a CA certificate on the Gaby host to trust for these URLs (the local stand-in's).",
    )
    sspr_methods = forms.ChoiceField(
        required=False,
        label="Self-service password reset",
        choices=[
            ("0", "Ask Entra ID (needs Entra ID P1, e.g. Business Premium)"),
            ("1", "On for every user, one method to reset"),
            ("2", "On for every user, two methods to reset"),
        ],
        help_text="Only if you switched it on in this tenant: then a user who forgot their password and registered "
        "the Authenticator app or a phone is sent to Microsoft's reset page instead of waiting for a call-back.",
    )

    def draft(self) -> Draft:
        data = self.cleaned_data
        return microsoft365_draft(
            name=data["name"],
            tenant_id=data["tenant_id"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            authority=data["authority"] or "",
            graph_url=data["graph_url"] or "",
            ca_file=data["ca_file"],
            sspr_methods=int(data["sspr_methods"] or 0),
        )


ConnectForm = (
    McpServerForm | PostgresForm | CodeForm | OpenApiForm | KeycloakForm | StripeForm | NinjaOneForm | Microsoft365Form
)
FORMS: dict[str, type[ConnectForm]] = {
    "mcp": McpServerForm,
    "postgres": PostgresForm,
    "code": CodeForm,
    "openapi": OpenApiForm,
    "keycloak": KeycloakForm,
    "stripe": StripeForm,
    "ninjaone": NinjaOneForm,
    "microsoft365": Microsoft365Form,
}
# The Connect page's title and intro per kind.
PAGES: dict[str, tuple[str, str]] = {
    "mcp": (
        "Add an MCP server",
        "Any MCP server, no code: the command Gaby starts (stdio) or the URL it reaches (streamable HTTP). "
        "Test it to see its tools, then save.",
    ),
    "postgres": (
        "Connect PostgreSQL",
        "Gaby runs its PostgreSQL connector read-only unless you allow writes; every write is a dry run first.",
    ),
    "code": (
        "Connect source code",
        "A git repository Gaby can search and read, so it can say where a bug lives (billing/webhook.py:142). "
        "Read-only; a remote is cloned and fetched again every few minutes.",
    ),
    "openapi": (
        "Connect a REST API",
        "Any API with an OpenAPI 3 document: one tool per operation. GET and HEAD read; everything else writes "
        "and is a dry run (the exact request) until allowed.",
    ),
    "keycloak": (
        "Connect Keycloak",
        "Gaby looks up users, sessions and lockouts; it can send a password reset, end sessions, enable, disable "
        "or unlock an account — each shown as a dry run first and done only as your safety rules allow.",
    ),
    "stripe": (
        "Connect Stripe",
        "Gaby reads customers, subscriptions, invoices and why payments failed; refunds, invoice resends and "
        "payment retries are previewed first and sent with an idempotency key, so none happens twice.",
    ),
    "ninjaone": (
        "Connect NinjaOne",
        "Gaby finds this client's devices and why they misbehave (health, disks, alerts, services); it can restart "
        "a service, reset an alert or run a library script — each shown as a dry run first. A script you do not list "
        "as allowed is a high-risk action (65): it waits for an approver unless your approval threshold is above that.",
    ),
    "microsoft365": (
        "Connect Microsoft 365",
        "One customer tenant through Microsoft Graph: Entra ID users, sign-in state, MFA methods, licences, groups "
        "and Intune devices. Password and MFA resets, licence and group changes and device actions are shown as "
        "the exact Graph request first; device wipes and retires always wait for a person.",
    ),
}
