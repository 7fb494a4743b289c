"""Connector operations: connect, test, revoke, sync tools, call a tool, check health.

``execute_tool_call`` sends a tool call once ``apps.safety.enforcement.run_tool`` — the one enforcement
point every path (agent, playbook, chat, a button) goes through — has decided it may. Before anything is
sent it still runs ``before_call`` (preflight.py), which validates what any call must get right (connector
enabled, tool known and enabled, arguments valid against the tool's JSON schema); safety decisions are made
in apps/safety. What an admin enters is checked by ``validate_draft`` (drafts.py) before it is run or stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.connectors.calls import CallOutcome, ConnectorError, ToolInfo
from apps.connectors.drafts import draft_of, validate_draft
from apps.connectors.host import host
from apps.connectors.models import (
    Access,
    AutonomyLevel,
    Connector,
    ConnectorEvent,
    ConnectorTool,
    EventKind,
    Status,
)
from apps.connectors.preflight import ToolCallRefused, before_call
from apps.connectors.specs import Draft, spec_for
from apps.core.secrets import seal_json
from tenants.models import Client

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ToolResult:
    connector: str
    tool: str
    access: str
    text: str
    structured: Any
    is_error: bool
    truncated: bool
    elapsed_ms: float


def classify(read_only_hint: bool | None) -> str:
    """Read only when the server says so explicitly; anything unannotated counts as a write (fail safe)."""
    return Access.READ if read_only_hint is True else Access.WRITE


def _label(client: Client, name: str) -> str:
    return f"{client.schema_name}/{name}"


def _actor_label(actor: User | None) -> str:
    return actor.email if actor is not None else "Gaby (operator CLI or system)"


def record_event(
    *, connector: Connector, kind: str, summary: str, actor: User | None = None, detail: dict[str, Any] | None = None
) -> ConnectorEvent:
    return ConnectorEvent.objects.create(
        connector=connector,
        kind=kind,
        summary=summary[:500],
        detail=detail or {},
        actor=actor,
        actor_label=_actor_label(actor),
    )


def current_client() -> Client:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Client) or tenant.is_public:
        raise RuntimeError("Connector services run inside a client's schema.")
    return tenant


def _spec(connector: Connector, client: Client) -> Any:
    return spec_for(draft_of(connector, client), label=_label(client, connector.name))


def test_connection(*, client: Client, draft: Draft, actor: User | None, operator: bool = False) -> list[ToolInfo]:
    """Start or reach the server as configured, list its tools, and close it again; nothing is stored."""
    validate_draft(draft, actor=actor, operator=operator)
    spec = spec_for(draft, label=_label(client, draft.name or "draft"))
    try:
        return host().list_tools(spec)
    finally:
        host().close(spec)


def _store_tools(connector: Connector, tools: list[ToolInfo]) -> None:
    """Upsert what the server lists in one statement; an admin's per-tool ``enabled``/``scope`` are kept."""
    listed = {info.name: info for info in tools}  # a server listing a name twice: the last one wins
    ConnectorTool.objects.bulk_create(
        [
            ConnectorTool(
                connector=connector,
                name=info.name,
                title=info.title[:200],
                description=info.description,
                input_schema=info.input_schema,
                read_only_hint=info.read_only_hint,
                destructive_hint=info.destructive_hint,
                approval_required=info.approval_required,
                access=classify(info.read_only_hint),
                present=True,
            )
            for info in listed.values()
        ],
        update_conflicts=True,
        unique_fields=["connector", "name"],
        update_fields=[
            "title",
            "description",
            "input_schema",
            "read_only_hint",
            "destructive_hint",
            "approval_required",
            "access",
            "present",
            "updated_at",
        ],
    )
    ConnectorTool.objects.filter(connector=connector).exclude(name__in=listed).update(present=False)


def _seal(connector: Connector, client: Client, draft: Draft) -> None:
    """The draft's settings and secrets, sealed under the client's data key (never stored in clear)."""
    connector.sealed_config = seal_json(client, draft.secrets(), purpose=connector.purpose)
    connector.secret_keys = draft.secret_keys()


@transaction.atomic
def create_connector(
    *,
    client: Client,
    draft: Draft,
    actor: User | None,
    tools: list[ToolInfo],
    scopes: list[str] | None = None,
    autonomy: str = AutonomyLevel.INVESTIGATE,
    is_production: bool = False,
    operator: bool = False,
    via: Mapping[str, Any] | None = None,
) -> Connector:
    validate_draft(draft, actor=actor, operator=operator)
    if Connector.objects.filter(name=draft.name).exists():
        raise ValidationError({"name": f"A connector named {draft.name!r} exists already; pick another name."})
    connector = Connector(
        kind=draft.kind,
        name=draft.name,
        transport=draft.transport,
        command=draft.command,
        args=draft.args,
        url=draft.url,
        scopes=scopes or [],
        autonomy=autonomy,
        is_production=is_production,
        status=Status.HEALTHY if tools else Status.NEW,
        last_health_at=timezone.now() if tools else None,
        created_by=actor,
    )
    _seal(connector, client, draft)
    connector.save()
    _store_tools(connector, tools)
    summary = f"{_actor_label(actor)} connected {connector.name} with autonomy {connector.get_autonomy_display()}"
    detail: dict[str, Any] = {
        "scopes": connector.scopes,
        "autonomy": autonomy,
        "production": is_production,
        "tools": len(tools),
    }
    if via:
        summary += f" through {via.get('label', 'a shared connection')}"
        detail["via"] = dict(via)
    record_event(connector=connector, kind=EventKind.CONSENT, actor=actor, summary=summary, detail=detail)
    log.info("connector_created", connector=str(connector.pk), kind=draft.kind, tools=len(tools))
    return connector


def connect(
    *,
    client: Client,
    draft: Draft,
    actor: User | None,
    scopes: list[str] | None = None,
    autonomy: str = AutonomyLevel.INVESTIGATE,
    is_production: bool = False,
    operator: bool = False,
    via: Mapping[str, Any] | None = None,
) -> Connector:
    """Test the connection (lists its tools), then store the connector with its tools and the consent row.

    ``via``: where the connection came from when it is not typed in for this client alone (a partner connection
    serving several clients): its ``label`` is named in the consent event and the whole of it kept in the detail."""
    tools = test_connection(client=client, draft=draft, actor=actor, operator=operator)
    return create_connector(
        client=client,
        draft=draft,
        actor=actor,
        tools=tools,
        scopes=scopes,
        autonomy=autonomy,
        is_production=is_production,
        operator=operator,
        via=via,
    )


def reconfigure(
    *, client: Client, connector: Connector, draft: Draft, actor: User | None, operator: bool = False
) -> Connector:
    """Give a stored connector new settings (a vendor URL that moved): tested first like a new connection, then
    sealed again, its tools refreshed and the change (which settings, never their values) in the consent log."""
    if (draft.kind, draft.name) != (connector.kind, connector.name):
        raise ValidationError({"name": f"This is {connector.name} ({connector.kind}): its kind and name stay."})
    before = draft_of(connector, client).secrets()
    tools = test_connection(client=client, draft=draft, actor=actor, operator=operator)
    after = draft.secrets()
    changed = sorted(
        f"{part}:{key}"
        for part in after
        for key in set(before.get(part, {})) | set(after[part])
        if before.get(part, {}).get(key) != after[part].get(key)
    )
    with transaction.atomic():
        connector.transport, connector.command, connector.args = draft.transport, draft.command, draft.args
        connector.url = draft.url
        _seal(connector, client, draft)
        connector.last_health_at = timezone.now()
        if connector.enabled:  # a revoked connector stays revoked: only its settings change
            connector.status = Status.HEALTHY
        connector.save()
        _store_tools(connector, tools)
        record_event(
            connector=connector,
            kind=EventKind.CONSENT,
            actor=actor,
            summary=f"{_actor_label(actor)} changed its settings ({', '.join(changed) or 'none'})",
            detail={"changed": changed, "tools": len(tools)},
        )
    return connector


@transaction.atomic
def set_enabled(*, connector: Connector, enabled: bool, actor: User | None) -> Connector:
    """Enable, or revoke (disable) a connector: Gaby stops calling it at once; GOV-5 records who and when."""
    if connector.enabled == enabled:
        return connector
    connector.enabled = enabled
    connector.status = Status.NEW if enabled else Status.DISABLED
    connector.save(update_fields=["enabled", "status", "updated_at"])
    verb = "re-enabled" if enabled else "revoked"
    record_event(connector=connector, kind=EventKind.CONSENT, actor=actor, summary=f"{_actor_label(actor)} {verb} it")
    return connector


def sync_tools(*, connector: Connector) -> list[ConnectorTool]:
    """Refresh the tool registry from the running server."""
    client = current_client()
    tools = host().list_tools(_spec(connector, client))
    with transaction.atomic():
        _store_tools(connector, tools)
    return list(connector.tools.filter(present=True))


def execute_tool_call(
    *,
    connector: Connector,
    tool_name: str,
    arguments: dict[str, Any],
    actor: User | None,
    tool: ConnectorTool | None = None,
) -> ToolResult:
    """Send one tool call: validation gate, host call (timeout, concurrency, size cap), events on failure.

    The raw executor. Callers go through ``apps.safety.enforcement.run_tool``, the one enforcement point;
    only it (and connector tests of the transport itself) may call this (tests/test_architecture.py).
    ``tool`` is the ConnectorTool row when the caller has already loaded it.
    """
    client = current_client()
    if tool is None or tool.name != tool_name or tool.connector_id != connector.pk:
        tool = ConnectorTool.objects.filter(connector=connector, name=tool_name).first()
    try:
        before_call(connector=connector, tool=tool, arguments=arguments)
    except ToolCallRefused as exc:
        detail = {"tool": tool_name}
        record_event(connector=connector, kind=EventKind.DENIAL, actor=actor, summary=str(exc), detail=detail)
        raise
    assert tool is not None
    spec = _spec(connector, client)
    try:
        outcome: CallOutcome = host().call_tool(
            spec, tool_name, arguments, max_chars=settings.CONNECTOR_MAX_RESULT_CHARS
        )
    except ConnectorError as exc:
        _record_incidents(connector, spec)
        record_event(connector=connector, kind=EventKind.CALL_ERROR, summary=str(exc), detail={"tool": tool_name})
        Connector.objects.filter(pk=connector.pk).update(status=Status.DEGRADED, last_error=str(exc)[:2000])
        raise
    _record_incidents(connector, spec)
    return ToolResult(
        connector=connector.name,
        tool=tool_name,
        access=tool.access,
        text=outcome.text,
        structured=outcome.structured,
        is_error=outcome.is_error,
        truncated=outcome.truncated,
        elapsed_ms=outcome.elapsed_ms,
    )


def _record_incidents(connector: Connector, spec: Any) -> None:
    for incident in host().drain_incidents(spec):
        record_event(connector=connector, kind=EventKind.HEALTH, summary=f"Server restarted: {incident}")


HEALTH_TOOL = "health_check"


def _vendor_health(connector: Connector, spec: Any) -> None:
    """A server that answers is not enough: when it offers a read-only ``health_check`` tool (the first-party
    connectors do), its answer decides — the credentials may have been revoked or the vendor be down."""
    tool = ConnectorTool.objects.filter(
        connector=connector, name=HEALTH_TOOL, present=True, enabled=True, access=Access.READ
    ).first()
    if tool is None or (tool.input_schema or {}).get("required"):
        return  # absent, or someone else's tool of that name that needs arguments
    outcome = host().call_tool(spec, HEALTH_TOOL, {}, max_chars=2000)
    if outcome.is_error:
        raise ConnectorError(f"{connector.name}: {HEALTH_TOOL} failed: {outcome.text}")


def check_health(*, connector: Connector) -> str:
    """Ping the server through the pooled session (reconnecting if it died) and record status changes."""
    client = current_client()
    if not connector.is_usable:
        return str(connector.status)
    spec = _spec(connector, client)
    previous = connector.status
    try:
        elapsed = host().ping(spec)
        _vendor_health(connector, spec)
    except ConnectorError as exc:
        _record_incidents(connector, spec)
        failures = connector.consecutive_failures + 1
        status = Status.DEGRADED if failures < 3 else Status.DOWN
        Connector.objects.filter(pk=connector.pk).update(
            status=status, last_error=str(exc)[:2000], last_health_at=timezone.now(), consecutive_failures=failures
        )
        if status != previous:
            record_event(connector=connector, kind=EventKind.HEALTH, summary=f"{status.label}: {exc}")
        return str(status)
    _record_incidents(connector, spec)
    Connector.objects.filter(pk=connector.pk).update(
        status=Status.HEALTHY, last_error="", last_health_at=timezone.now(), consecutive_failures=0
    )
    if previous != Status.HEALTHY:
        record_event(connector=connector, kind=EventKind.HEALTH, summary=f"Healthy (answered in {elapsed:.0f} ms)")
    return str(Status.HEALTHY)
