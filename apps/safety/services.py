"""Configuration operations of apps/safety, each audited: rules, connector scopes and autonomy, the client's
safety settings, ticket-source autonomy and approval channels."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.connectors import services as connectors
from apps.connectors.models import Connector, ConnectorTool, EventKind, ScopeMode
from apps.core.secrets import seal_json
from apps.safety.client_settings import CHANNELS_PURPOSE, channels, safety_settings
from apps.safety.models import SafetyRule, SafetySettings
from apps.safety.policy import ArgumentPredicate
from apps.tickets.models import SourceAutonomy, TicketSource
from tenants.models import Client
from tenants.services import update_client_settings


def check_predicates(value: Any) -> None:
    """Raise ValueError with a message that says what to fix."""
    if not isinstance(value, list):
        raise ValueError("Predicates are a JSON list of objects.")
    for item in value:
        if not isinstance(item, dict) or set(item) != {"argument", "op", "value"}:
            raise ValueError('Each predicate is {"argument": ..., "op": ..., "value": ...}.')
        ArgumentPredicate(str(item["argument"]), str(item["op"]), item["value"])


@transaction.atomic
def add_rule(
    *,
    effect: str,
    connector: Connector | None,
    tool_pattern: str,
    predicates: list[dict[str, Any]],
    label: str,
    actor: User,
) -> SafetyRule:
    check_predicates(predicates)
    rule = SafetyRule.objects.create(
        effect=effect, connector=connector, tool_pattern=tool_pattern or "*", predicates=predicates, label=label
    )
    audit.record(
        event="safety.rule_added",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={
            "rule": str(rule.pk),
            "effect": effect,
            "connector": connector.name if connector else None,
            "tool_pattern": rule.tool_pattern,
            "predicates": predicates,
            "label": label,
        },
    )
    return rule


@transaction.atomic
def delete_rule(*, rule: SafetyRule, actor: User) -> None:
    audit.record(
        event="safety.rule_removed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"rule": str(rule.pk), "effect": rule.effect, "tool_pattern": rule.tool_pattern, "label": rule.label},
    )
    rule.delete()


def _diff(obj: object, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"from": getattr(obj, name), "to": value}
        for name, value in changes.items()
        if getattr(obj, name) != value
    }


@transaction.atomic
def configure_connector(
    *, connector: Connector, autonomy: str, scope: str, is_production: bool, actor: User | None
) -> dict[str, dict[str, Any]]:
    """CON-3/SAF-1: a connector's autonomy, default scope and production flag; audited and in the consent log.
    ``actor=None``: the install's operator (CLI, evals)."""
    diff = _diff(connector, {"autonomy": autonomy, "scope": scope, "is_production": is_production})
    if not diff:
        return diff
    Connector.objects.filter(pk=connector.pk).update(autonomy=autonomy, scope=scope, is_production=is_production)
    for name, change in diff.items():
        setattr(connector, name, change["to"])
    summary = ", ".join(f"{name} {change['from']} → {change['to']}" for name, change in diff.items())
    connectors.record_event(
        connector=connector,
        kind=EventKind.CONSENT,
        actor=actor,
        summary=f"{actor.email if actor else 'The operator'} changed {summary}",
        detail={"changes": diff},
    )
    audit.record(
        event="safety.connector_configured",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"connector": connector.name, "connector_id": str(connector.pk), "changes": diff},
    )
    return diff


@transaction.atomic
def set_tool_scope(*, tool: ConnectorTool, scope: str, actor: User) -> bool:
    """CON-3: one tool's scope override (empty: the connector's scope applies)."""
    if scope not in {"", *ScopeMode.values}:
        raise ValueError(f"Pick a scope of {', '.join(ScopeMode.values)} or none.")
    if tool.scope == scope:
        return False
    change = {"from": tool.scope or "inherit", "to": scope or "inherit"}
    ConnectorTool.objects.filter(pk=tool.pk).update(scope=scope)
    tool.scope = scope
    connectors.record_event(
        connector=tool.connector,
        kind=EventKind.CONSENT,
        actor=actor,
        summary=f"{actor.email} set {tool.name} scope {change['from']} → {change['to']}",
        detail={"tool": tool.name, "scope": change},
    )
    audit.record(
        event="safety.tool_scope_changed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"connector": tool.connector.name, "tool": tool.name, "scope": change},
    )
    return True


@transaction.atomic
def update_safety_settings(
    *,
    client: Client,
    autonomy: str,
    approval_threshold: int,
    approval_ttl_hours: int,
    compliance_profile: str,
    notify_email: bool,
    actor: User,
    admin_approval_risk: int | None = None,
) -> Client:
    """The client's autonomy, threshold and profile (audited by tenants.services) and this schema's approval
    expiry and email notices (audited here)."""
    client = update_client_settings(
        client=client,
        actor=actor,
        changes={
            "autonomy": autonomy,
            "approval_threshold": approval_threshold,
            "compliance_profile": compliance_profile,
        },
    )
    row = safety_settings()
    values: dict[str, Any] = {"approval_ttl_hours": approval_ttl_hours, "notify_email": notify_email}
    if admin_approval_risk is not None:
        values["admin_approval_risk"] = admin_approval_risk
    diff = _diff(row, values)
    if diff:
        SafetySettings.objects.filter(pk=row.pk).update(**values)
        audit.record(
            event="safety.settings_changed", actor_kind=ActorKind.USER, actor_id=actor.pk, payload={"changes": diff}
        )
    return client


@transaction.atomic
def set_source_autonomy(*, source: TicketSource, autonomy: str, actor: User) -> bool:
    """SAF-1: the autonomy of one ticket source; the most restrictive of client, connector and source wins."""
    if autonomy not in SourceAutonomy.values:
        raise ValueError("Pick investigate, propose, act, or no limit.")
    if source.autonomy == autonomy:
        return False
    change = {"from": source.autonomy or "inherit", "to": autonomy or "inherit"}
    TicketSource.objects.filter(pk=source.pk).update(autonomy=autonomy)
    source.autonomy = autonomy
    audit.record(
        event="safety.source_autonomy_changed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"source": source.name, "source_id": str(source.pk), "autonomy": change},
    )
    return True


@transaction.atomic
def update_channels(*, client: Client, changes: dict[str, Any], actor: User) -> list[str]:
    """Store the approval channels sealed; an empty secret field keeps the stored value (``clear`` removes it).

    Only the names of what changed are audited, never the secrets themselves.
    """
    row = safety_settings()
    current = asdict(channels(client, row))
    changed = []
    for name, value in changes.items():
        if name not in current or value is None or value == current[name]:
            continue
        current[name] = value
        changed.append(name)
    if not changed:
        return []
    sealed = seal_json(client, current, purpose=CHANNELS_PURPOSE)
    names = sorted(name for name, value in current.items() if value)
    SafetySettings.objects.filter(pk=row.pk).update(sealed_channels=sealed, channel_names=names)
    audit.record(
        event="safety.channels_changed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"changed": sorted(changed)},
    )
    return changed
