"""Connectors of one client (its schema): the systems Gaby may investigate, their tools and their history.

A ``Connector`` is one MCP server Gaby hosts for this client: a subprocess it starts (stdio) or a URL it
reaches (streamable HTTP). Its non-secret transport (command, args, URL) is stored in clear so admins can
read it back; everything secret (env values, headers, database URLs) is sealed with the client's data key
(apps/core/secrets.py, purpose ``connector:<id>``) and never rendered. ``ConnectorTool`` is the per-client
tool registry filled from the server's ``tools/list``; ``ConnectorEvent`` is the connector's log: health
changes, auth failures, denials, configuration changes and the consent trail (GOV-5).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from apps.core.ids import uuid7


class Kind(models.TextChoices):
    MCP_STDIO = "mcp_stdio", "MCP server (command)"
    MCP_HTTP = "mcp_http", "MCP server (URL)"
    POSTGRES = "postgres", "PostgreSQL"
    GIT_SOURCE = "git_source", "Source code (git)"
    OPENAPI = "openapi", "REST API (OpenAPI)"
    KEYCLOAK = "keycloak", "Keycloak"
    STRIPE = "stripe", "Stripe"
    MICROSOFT365 = "microsoft365", "Microsoft 365 (Entra ID, Intune)"
    NINJAONE = "ninjaone", "NinjaOne RMM"


class Transport(models.TextChoices):
    STDIO = "stdio", "stdio (Gaby starts the command)"
    HTTP = "http", "Streamable HTTP (Gaby connects to a URL)"


class AutonomyLevel(models.TextChoices):
    """How far Gaby may go with this connector; enforced by apps/safety, stored here."""

    INVESTIGATE = "investigate", "Investigate (read only)"
    PROPOSE = "propose", "Propose (a human approves writes)"
    ACT = "act", "Act (writes within scope)"


class ScopeMode(models.TextChoices):
    """CON-3: what a connector's (or one tool's) writes may do; enforced by apps/safety."""

    READ_ONLY = "read_only", "Read only"
    DRY_RUN = "dry_run", "Dry run (show what would change)"
    READ_WRITE = "read_write", "Read and write"


class Status(models.TextChoices):
    NEW = "new", "Not checked yet"
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Reconnecting"
    DOWN = "down", "Down"
    DISABLED = "disabled", "Disabled"


class Connector(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    name = models.CharField(max_length=100)
    transport = models.CharField(max_length=8, choices=Transport.choices)
    command = models.CharField(max_length=500, blank=True, help_text="stdio: the executable to start.")
    args = models.JSONField(default=list, blank=True, help_text="stdio: its arguments, a list of strings.")
    url = models.URLField(max_length=500, blank=True, help_text="Streamable HTTP: the MCP endpoint.")
    # Sealed JSON: {"env": {...}, "headers": {...}, ...}; apps.core.secrets, purpose "connector:<id>".
    sealed_config = models.TextField(blank=True, editable=False)
    secret_keys = models.JSONField(default=list, blank=True, editable=False, help_text="Names of sealed settings.")
    scopes = models.JSONField(default=list, blank=True, help_text="Declared scopes, e.g. ['customers:read'].")
    autonomy = models.CharField(max_length=16, choices=AutonomyLevel.choices, default=AutonomyLevel.INVESTIGATE)
    scope = models.CharField(max_length=16, choices=ScopeMode.choices, default=ScopeMode.READ_ONLY)
    is_production = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    last_health_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Users live in the public schema: no database constraint across schemas, and DO_NOTHING so deleting a
    # user never tries to touch a client's tables from the public schema; the label keeps who it was.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="connector_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def purpose(self) -> str:
        """The associated-data label its sealed configuration is bound to."""
        return f"connector:{self.pk}"

    @property
    def is_usable(self) -> bool:
        return self.enabled and self.status != Status.DISABLED


class Access(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class ConnectorTool(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    input_schema = models.JSONField(default=dict)
    read_only_hint = models.BooleanField(null=True)
    destructive_hint = models.BooleanField(null=True)
    approval_required = models.BooleanField(
        default=False, help_text="The server says every call waits for a person (unless an allow rule names it)."
    )
    access = models.CharField(max_length=8, choices=Access.choices)
    scope = models.CharField(
        max_length=16, choices=ScopeMode.choices, blank=True, help_text="Overrides the connector's scope for this tool."
    )
    enabled = models.BooleanField(default=True)
    present = models.BooleanField(default=True, help_text="False once the server stopped listing it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connector__name", "name"]
        constraints = [models.UniqueConstraint(fields=["connector", "name"], name="connector_tool_unique")]

    def __str__(self) -> str:
        return f"{self.connector.name}.{self.name}"


class EventKind(models.TextChoices):
    HEALTH = "health", "Health"
    AUTH_FAILURE = "auth_failure", "Auth failure"
    DENIAL = "denial", "Denial"
    CONFIG_CHANGE = "config_change", "Configuration change"
    CONSENT = "consent", "Consent"
    CALL_ERROR = "call_error", "Call error"


class ConnectorEvent(models.Model):
    """Append-only history of a connector; the consent rows are GOV-5's "who authorized what, when"."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    summary = models.CharField(max_length=500)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who, kept if the user is deleted.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "detail": self.detail, "at": self.created_at.isoformat()}
